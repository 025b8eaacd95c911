import { describe, expect, it } from 'vitest';
import {
  classifyDisk,
  cpuTotal,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseUptime,
} from '../../../src/collectors/proc.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';
import { hiddenClassCount } from '../../helpers/hidden-classes.ts';

const KiB = 1024;

describe('parseProcStat', () => {
  it('builds every CPU of every poll on one hidden class (a spread copy built a new one per CPU per poll)', () => {
    const line = (name: string, n: number) => `${name} ${[n, 2, n * 3, 2 ** 31 + n, 5, 6, 7, 0, 0, 0].join(' ')}\n`;
    const text = line('cpu ', 400) + [0, 1, 2, 3].map((c) => line(`cpu${c}`, 100 + c)).join('') + 'btime 1700000000\n';
    const cores = Array.from({ length: 30 }, () => parseProcStat(text).cores).flat();
    expect(cores).toHaveLength(120);
    expect(hiddenClassCount(cores)).toBe(1);
  });

  corpusIt('reads the 8-CPU node_exporter file (10 columns)', () => {
    const s = parseProcStat(fixture('proc/stat-8cpu-node_exporter'));
    expect(s.cpuCount).toBe(8);
    expect(s.total).toEqual({
      user: 301854, nice: 612, system: 111922, idle: 8979004, iowait: 3552,
      irq: 2, softirq: 3944, steal: 0, guest: 44, guestNice: 36,
    });
    expect(s.cores[0]).toMatchObject({ cpu: 0, user: 44490, nice: 19, system: 21045, idle: 1087069 });
    expect(s.cores[3]).toMatchObject({ cpu: 3, user: 47054, softirq: 60 });
  });

  corpusIt('reads the 16-CPU telegraf file and its btime', () => {
    const s = parseProcStat(fixture('proc/stat-16cpu-telegraf'));
    expect(s.cpuCount).toBe(16);
    expect(s.total.user).toBe(110686);
    expect(s.total.irq).toBe(15958);
    expect(s.bootTime).toBe(1784274102);
    expect(s.cores[2]).toMatchObject({ cpu: 2, user: 17820, nice: 10, system: 4259 });
  });

  corpusIt('reads steal and guest columns of a VM', () => {
    const s = parseProcStat(fixture('proc/stat-4cpu-guest-gopsutil'));
    expect(s.cpuCount).toBe(4);
    expect(s.total).toMatchObject({ user: 23644, nice: 6695, softirq: 473, steal: 5892, guest: 0 });
    expect(s.cores[1]).toMatchObject({ cpu: 1, user: 6858, nice: 4870, softirq: 235, steal: 1765 });
    expect(s.bootTime).toBe(1505515383);
    expect(s.contextSwitches).toBe(41317767);
    expect(s.procsRunning).toBe(1);
    // guest time is inside user: totals must not count it twice
    expect(cpuTotal(s.total)).toBe(23644 + 6695 + 4764 + 134931750 + 22115 + 0 + 473 + 5892);
  });

  corpusIt('reads the first of two concatenated legacy samples (7-column cpu lines)', () => {
    const s = parseProcStat(fixture('proc/stat-legacy-2.4-2.6-jc'));
    expect(s.cpuCount).toBe(1);
    expect(s.total).toMatchObject({ user: 259246, nice: 7001, system: 60190, idle: 34250993, iowait: 137517, irq: 772, softirq: 0, steal: 0 });
    expect(s.bootTime).toBe(1093631447);
  });

  it('reads this machine', () => {
    const s = parseProcStat(caseInput('proc-stat', 'kvm-2cpu'));
    expect(s.cpuCount).toBe(2);
    expect(s.total).toMatchObject({ user: 27525, nice: 0, system: 4726, idle: 86826, iowait: 404, steal: 1588 });
  });

  it('names the line and what it expected', () => {
    expect(() => parseProcStat('intr 1 2\ncpu  1 2 x 4\n')).toThrow(
      new ParseError('expected "cpu" line with at least 4 numeric fields', 2),
    );
    expect(() => parseProcStat('cpu 1 2 3\n')).toThrow(ParseError);
    expect(() => parseProcStat('hello\n')).toThrow(ParseError);
  });
});

describe('parseMeminfo', () => {
  corpusIt('uses MemAvailable when present', () => {
    const m = parseMeminfo(fixture('proc/meminfo-16G-telegraf'));
    expect(m.totalBytes).toBe(16201888 * KiB);
    expect(m.availableBytes).toBe(14221924 * KiB);
    expect(m.availableEstimated).toBe(false);
    expect(m.freeBytes).toBe(1834660 * KiB);
    expect(m.swapTotalBytes).toBe(4194300 * KiB);
    expect(m.swapFreeBytes).toBe(4186844 * KiB);
    expect(m.usedPercent).toBeCloseTo(((16201888 - 14221924) / 16201888) * 100, 9);
  });

  corpusIt('estimates available as free + buffers + cached + SReclaimable without MemAvailable', () => {
    const m = parseMeminfo(fixture('proc/meminfo-4G-node_exporter'));
    expect(m.availableEstimated).toBe(true);
    expect(m.availableBytes).toBe((225472 + 22040 + 930888 + 44772) * KiB);
    expect(m.swapFreeBytes).toBe(3155360 * KiB);
    const z = parseMeminfo(fixture('proc/meminfo-zswap-procfs'));
    expect(z.availableBytes).toBe((440324 + 1020128 + 12007640 + 1738124) * KiB);
    expect(z.swapTotalBytes).toBe(0);
  });

  corpusIt('reads the KVM guest and the 64 GiB server', () => {
    expect(parseMeminfo(fixture('proc/meminfo-4G-kvm-guest-pcp'))).toMatchObject({
      totalBytes: 4020980 * KiB,
      availableBytes: 3391008 * KiB,
      swapTotalBytes: 2621436 * KiB,
    });
    expect(parseMeminfo(fixture('proc/meminfo-64G-server-jamescun'))).toMatchObject({
      totalBytes: 65429972 * KiB,
      availableBytes: 63242600 * KiB,
      swapFreeBytes: 33520636 * KiB,
    });
  });

  it('reads this machine', () => {
    const m = parseMeminfo(caseInput('meminfo', 'kvm-24g'));
    expect(m.totalBytes).toBeGreaterThan(0);
    expect(m.availableBytes).toBeLessThanOrEqual(m.totalBytes);
  });

  it('rejects a file without MemTotal and malformed lines', () => {
    expect(() => parseMeminfo('MemFree: 1 kB\n')).toThrow(ParseError);
    expect(() => parseMeminfo('MemTotal: 1 kB\nMemFree: lots\n')).toThrow(
      new ParseError('expected "Key: <number> [kB]" line', 2),
    );
  });
});

describe('parseLoadavg and parseUptime', () => {
  corpusIt('reads both loadavg fixtures', () => {
    expect(parseLoadavg(fixture('proc/loadavg-node_exporter'))).toEqual({
      load1: 0.21, load5: 0.37, load15: 0.39, runnable: 1, threads: 719, lastPid: 19737,
    });
    expect(parseLoadavg(fixture('proc/loadavg-busy-sysstat'))).toEqual({
      load1: 3.16, load5: 3.24, load15: 3.43, runnable: 4, threads: 956, lastPid: 27015,
    });
  });

  it('reads this machine', () => {
    expect(parseLoadavg(caseInput('loadavg', 'kvm-2cpu')).load1).toBeGreaterThanOrEqual(0);
    expect(parseUptime(caseInput('uptime', 'kvm-2cpu')).uptimeSeconds).toBeGreaterThan(0);
  });

  corpusIt('reads both uptime fixtures', () => {
    expect(parseUptime(fixture('proc/uptime-186days-jamescun'))).toEqual({
      uptimeSeconds: 16072645.2, idleSeconds: 192637915.46,
    });
    expect(parseUptime(fixture('proc/uptime-2h-sysstat'))).toEqual({
      uptimeSeconds: 7192.55, idleSeconds: 29212.05,
    });
  });

  it('rejects junk', () => {
    expect(() => parseLoadavg('a b c')).toThrow(ParseError);
    expect(() => parseUptime('')).toThrow(new ParseError('expected "uptime idle" seconds', 1));
  });
});

describe('parseNetDev', () => {
  corpusIt('reads the docker host with veth and bridge', () => {
    const { interfaces } = parseNetDev(fixture('proc/net-dev-docker-veth-procfs'));
    expect(interfaces.map((i) => i.name)).toEqual(['vethf345468', 'lo', 'docker0', 'eth0']);
    expect(interfaces[3]).toEqual({
      name: 'eth0', rxBytes: 874354587, rxPackets: 1036395, rxErrors: 0, rxDropped: 0,
      txBytes: 563352563, txPackets: 732147, txErrors: 0, txDropped: 0,
    });
    expect(interfaces[0]).toMatchObject({ rxBytes: 648, rxPackets: 8, txBytes: 438, txPackets: 5 });
  });

  corpusIt('reads 48 right-aligned eth interfaces', () => {
    const { interfaces } = parseNetDev(fixture('proc/net-dev-many-eth-hpbl920gen8'));
    expect(interfaces).toHaveLength(49);
    expect(interfaces[1]).toMatchObject({ name: 'eth0', rxBytes: 14948502, rxPackets: 95077, txBytes: 0 });
    expect(interfaces[48]!.name).toBe('eth47');
  });

  it('reads this machine', () => {
    const { interfaces } = parseNetDev(caseInput('net-dev', 'kvm-ifb-eth0'));
    expect(interfaces.map((i) => i.name)).toEqual(['lo', 'ifb0', 'ifb1', 'eth0']);
    expect(interfaces[3]).toMatchObject({ rxBytes: 368961059, rxPackets: 12098, txBytes: 814174, txPackets: 7671 });
  });

  it('rejects a short counter line', () => {
    expect(() => parseNetDev('h|\nh|\n eth0: 1 2 3\n')).toThrow(
      new ParseError('expected "<interface>: 16 numeric counters" line', 3),
    );
  });
});

describe('parseDiskstats', () => {
  corpusIt('reads the 14-, 18- and 20-field lines of the mixed file and classifies devices', () => {
    const { disks } = parseDiskstats(fixture('proc/diskstats-mixed-node_exporter'));
    const by = new Map(disks.map((d) => [d.name, d]));
    expect(by.get('sda')).toMatchObject({
      major: 8, minor: 0, whole: true, stacked: false, readsCompleted: 25354637,
      readBytes: 1003346126 * 512, writesCompleted: 28444756, writeBytes: 505697032 * 512,
      ioTimeMs: 9653880, discardsCompleted: null, flushesCompleted: null,
    });
    expect(by.get('sdb')).toMatchObject({ whole: true, discardsCompleted: 68851, flushesCompleted: null });
    expect(by.get('sdc')).toMatchObject({ discardsCompleted: 18851, flushesCompleted: 1555, ioTimeMs: 10730 });
    expect(by.get('dm-0')).toMatchObject({ whole: true, stacked: true, readBytes: 1003337218 * 512 });
    const whole = disks.filter((d) => d.whole).map((d) => d.name);
    expect(whole).toEqual(['sda', 'dm-0', 'dm-1', 'dm-2', 'dm-3', 'dm-4', 'dm-5', 'mmcblk0', 'vda', 'nvme0n1', 'sdb', 'sdc']);
  });

  corpusIt('reads NVMe mirrored into md (20 fields)', () => {
    const { disks } = parseDiskstats(fixture('proc/diskstats-nvme-mdraid-jamescun'));
    const whole = disks.filter((d) => d.whole);
    expect(whole.map((d) => [d.name, d.stacked])).toEqual([
      ['nvme1n1', false], ['nvme0n1', false], ['md0', true], ['md2', true], ['md1', true],
    ]);
    expect(whole[0]).toMatchObject({ readsCompleted: 389347453, readBytes: 52501372594 * 512, ioTimeMs: 9630357, flushesCompleted: 0 });
  });

  corpusIt('reads the big HP system, the Ceph VM and the zram VM', () => {
    const big = parseDiskstats(fixture('proc/diskstats-many-sd-hpbl920gen8')).disks;
    expect(big).toHaveLength(107);
    expect(big.filter((d) => d.whole && !d.stacked)).toHaveLength(70);
    expect(big.find((d) => d.name === 'sda')).toMatchObject({ readsCompleted: 1085, readBytes: 8688 * 512, ioTimeMs: 354 });
    const ceph = parseDiskstats(fixture('proc/diskstats-vda-rbd-ceph-pcp')).disks;
    expect(ceph.filter((d) => d.whole).map((d) => d.name)).toEqual(
      expect.arrayContaining(['vda', 'dm-0', 'rbd0', 'rbd1']),
    );
    expect(ceph.find((d) => d.name === 'rbd0p1')!.whole).toBe(false);
    expect(ceph.find((d) => d.name === 'vda')).toMatchObject({ writesCompleted: 74385, writeBytes: 3119737 * 512 });
    const zram = parseDiskstats(fixture('proc/diskstats-vda-zram-dm-pcp')).disks;
    expect(zram.find((d) => d.name === 'zram0')!.whole).toBe(false);
    expect(zram.find((d) => d.name === 'sr0')!.whole).toBe(false);
    expect(zram.find((d) => d.name === 'vda')).toMatchObject({ readsCompleted: 21066, flushesCompleted: 2522 });
  });

  it('reads this machine', () => {
    const { disks } = parseDiskstats(caseInput('diskstats', 'kvm-vda'));
    expect(disks.filter((d) => d.whole).map((d) => d.name)).toEqual(['vda']);
    expect(disks.find((d) => d.name === 'vda')).toMatchObject({ readsCompleted: 29806, readBytes: 1830034 * 512 });
  });

  it('classifies names', () => {
    for (const n of ['sda', 'sdaa', 'vda', 'xvdf', 'nvme0n1', 'mmcblk0', 'cciss/c0d0', 'rbd0', 'nbd0']) {
      expect(classifyDisk(n), n).toEqual({ whole: true, stacked: false });
    }
    for (const n of ['md127', 'dm-3', 'drbd0', 'bcache0', 'zd16']) {
      expect(classifyDisk(n), n).toEqual({ whole: true, stacked: true });
    }
    for (const n of ['sda1', 'sdab12', 'nvme0n1p2', 'mmcblk0p1', 'md0p1', 'cciss/c0d0p1', 'loop3', 'ram0', 'zram0', 'fd0', 'sr0', 'zd16p1', 'xvda1']) {
      expect(classifyDisk(n).whole, n).toBe(false);
    }
  });

  it('rejects short lines', () => {
    expect(() => parseDiskstats('   8 0 sda 1 2 3\n')).toThrow(ParseError);
  });
});

describe('lines a parser does not recognise are skipped and reported, not fatal', () => {
  it('/proc/stat: an unreadable cpuN line and a line that is not "<key> <values>"', () => {
    const s = parseProcStat('cpu  10 0 5 100\ncpu0 10 0 5 100\ncpu1 x\n  (vendor) 1 2\nintr 5 0 1\nctxt 77\n');
    expect(s.cpuCount).toBe(1);
    expect(s.contextSwitches).toBe(77);
    expect(s.skipped).toEqual([
      { line: 3, text: 'cpu1 x', reason: 'expected "cpuN" line with at least 4 numeric fields' },
      { line: 4, text: '  (vendor) 1 2', reason: 'expected a "<key> <values>" line' },
    ]);
    expect(parseProcStat(caseInput('proc-stat', 'kvm-2cpu')).skipped).toEqual([]);
  });

  it('/proc/meminfo: unknown keys and lines without a unit are read; other lines are skipped', () => {
    const embedded = parseMeminfo(caseInput('meminfo', 'embedded-unknown-keys-written'));
    expect(embedded).toMatchObject({ totalBytes: 496948 * KiB, availableBytes: 347012 * KiB, availableEstimated: false });
    expect(embedded.skipped).toEqual([{ line: 44, text: 'Ion heap usage: 1024 pages', reason: 'expected "Key: <number> [kB]" line' }]);
    const old = parseMeminfo(caseInput('meminfo', 'linux-2.4-table-written'));
    expect(old).toMatchObject({ totalBytes: 255524 * KiB, freeBytes: 7212 * KiB, availableEstimated: true });
    expect(old.availableBytes).toBe((7212 + 14028 + 166172) * KiB);
    expect(old.skipped.map((l) => l.line)).toEqual([1, 2, 3]);
    // a long line is cut in the report
    const long = parseMeminfo(`MemTotal: 2 kB\nMemFree: 1 kB\n${'x'.repeat(500)}\n`).skipped[0]!;
    expect(long.text).toHaveLength(201);
  });

  it('/proc/net/dev: an interface line without 16 counters is skipped', () => {
    const text = `${caseInput('net-dev', 'kvm-ifb-eth0').trimEnd()}\n  tun9: 1 2 3\n`;
    const r = parseNetDev(text);
    expect(r.interfaces.map((i) => i.name)).toEqual(['lo', 'ifb0', 'ifb1', 'eth0']);
    expect(r.skipped).toEqual([{ line: 7, text: '  tun9: 1 2 3', reason: 'expected "<interface>: 16 numeric counters" line' }]);
  });

  it('/proc/diskstats: the 4-counter partition lines of 2.6.0-2.6.24 kernels', () => {
    const r = parseDiskstats(caseInput('diskstats', 'linux-2.6.18-partition-lines-written'));
    expect(r.disks.map((d) => d.name)).toEqual(['ram0', 'hda', 'sda', 'dm-0']);
    expect(r.disks.find((d) => d.name === 'sda')).toMatchObject({ readsCompleted: 92836, readBytes: 2855258 * 512, writeBytes: 7828442 * 512, ioTimeMs: 668300 });
    expect(r.skipped.map((l) => [l.line, l.text])).toEqual([[4, '   8    1 sda1 310 4206 22 176'], [5, '   8    2 sda2 97549 2850960 978534 7828192']]);
  });
});
