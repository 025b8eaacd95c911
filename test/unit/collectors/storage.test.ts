import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BTRFS_DEVICE_STATS_COMMAND,
  parseBtrfsDeviceStats,
  parseMdstat,
  parseZpoolList,
  parseZpoolStatus,
  zfsNumber,
  type MdArray,
  type ZpoolDevice,
} from '../../../src/collectors/storage.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';

const summary = (a: MdArray) => [a.name, a.level, a.totalDevices, a.activeDevices, a.degraded];
const members = (a: MdArray) => a.members.map((m) => `${m.name}[${m.slot}]${m.faulty ? '(F)' : ''}${m.spare ? '(S)' : ''}`);
/** "name STATE r/w/c" per device, nested by indentation. */
function tree(devices: ZpoolDevice[], depth = 0): string[] {
  return devices.flatMap((d) => [
    `${'  '.repeat(depth)}${d.name} ${d.state} ${d.read}/${d.write}/${d.cksum}${d.note ? ` ${d.note}` : ''}`,
    ...tree(d.devices, depth + 1),
  ]);
}

describe('parseMdstat', () => {
  it('reads a raid5 with a spare and a raid1 recovering from a failed member (our case)', () => {
    const { personalities, arrays, skipped } = parseMdstat(caseInput('mdstat', 'raid5-spare-raid1-recovery-written'));
    expect(personalities).toEqual(['raid1', 'raid6', 'raid5', 'raid4']);
    expect(arrays.map(summary)).toEqual([['md1', 'raid5', 3, 3, false], ['md0', 'raid1', 2, 1, true]]);
    expect(members(arrays[0]!)).toEqual(['sdd1[0]', 'sdc1[2]', 'sdb1[1]', 'sde1[3](S)']);
    expect(arrays[1]).toMatchObject({
      sizeBytes: 976630464 * 1024, superblock: '1.2', slotStatus: 'U_', syncAction: 'recovery', syncPercent: 22.4,
      syncState: 'running', syncFinishMinutes: 62.6, syncSpeedKiBPerSec: 201633,
    });
    expect(members(arrays[1]!)).toEqual(['sdb2[2]', 'sda2[0]', 'sdc2[1](F)']);
    expect(skipped).toEqual([]);
  });

  it('reads a reshape, a resync running on another node and an inactive array (our case)', () => {
    const { arrays } = parseMdstat(caseInput('mdstat', 'raid6-reshape-inactive-remote-written'));
    expect(arrays.map((a) => [a.name, a.state, a.syncAction, a.syncPercent, a.syncState])).toEqual([
      ['md2', 'active', 'reshape', 7.8, 'running'],
      ['md3', 'active', 'resync', null, 'remote'],
      ['md127', 'inactive', null, null, null],
    ]);
    expect(arrays[2]).toMatchObject({ level: null, totalDevices: null, activeDevices: null, degraded: false, members: [{ name: 'sdi', spare: true }] });
  });

  it('skips lines it does not know and rejects text that is no mdstat at all', () => {
    const text = 'Personalities : [raid1] \nmd0 : active raid1 sdb1[1] sda1[0]\n      1000 blocks [2/2] [UU]\n      some new kernel line\nEvent: 7\n\nunused devices: <none>\n';
    const r = parseMdstat(text);
    expect(r.arrays.map(summary)).toEqual([['md0', 'raid1', 2, 2, false]]);
    expect(r.skipped.map((s) => [s.line, s.text])).toEqual([[4, '      some new kernel line'], [5, 'Event: 7']]);
    expect(() => parseMdstat('cat: /proc/mdstat: No such file or directory\n')).toThrow(ParseError);
  });

  corpusIt('reads every mdstat of the corpus', () => {
    const empty = parseMdstat(fixture('mdstat/empty-no-arrays-pymdstat'));
    expect(empty).toEqual({ personalities: [], arrays: [], skipped: [] });

    const nvme = parseMdstat(fixture('mdstat/raid0-nvme-raid1-bitmap-pymdstat'));
    expect(nvme.arrays.map(summary)).toEqual([
      ['md129', 'raid1', 2, 2, false], ['md128', 'raid1', 2, 2, false], ['md125', 'raid0', 6, 6, false], ['md126', 'raid0', 2, 2, false],
    ]);
    expect(nvme.arrays[2]).toMatchObject({ sizeBytes: 2306837760 * 1024, slotStatus: null });
    expect(members(nvme.arrays[3]!)).toEqual(['nvme0n1[0]', 'nvme1n1[1]']);

    const check = parseMdstat(fixture('mdstat/raid10-check-94pct-bitmap-telegraf'));
    expect(check.arrays.map(summary)).toEqual([['md2', 'raid10', 12, 12, false], ['md1', 'raid1', 2, 2, false], ['md0', 'raid1', 2, 2, false]]);
    expect(check.arrays[0]).toMatchObject({ syncAction: 'check', syncPercent: 94.3, syncFinishMinutes: 101.6, syncSpeedKiBPerSec: 103517, sizeBytes: 11251451904 * 1024 });

    const old = parseMdstat(fixture('mdstat/raid1x3-raid5-10disk-healthy-pymdstat'));
    expect(old.arrays.map(summary)).toEqual([
      ['md1', 'raid1', 2, 2, false], ['md2', 'raid1', 2, 2, false], ['md3', 'raid5', 10, 10, false], ['md0', 'raid1', 2, 2, false],
    ]);
    expect(old.arrays[2]).toMatchObject({ superblock: null, sizeBytes: 1318680576 * 1024, slotStatus: 'UUUUUUUUUU' });

    const degraded = parseMdstat(fixture('mdstat/raid5-degraded-3of4-telegraf'));
    expect(degraded.arrays.map(summary)).toEqual([['md0', 'raid5', 4, 3, true]]);
    expect(degraded.arrays[0]).toMatchObject({ slotStatus: 'UUU_', syncAction: null });
    expect(members(degraded.arrays[0]!)).toEqual(['sdd1[3]', 'sdb1[1]', 'sda1[0]']);

    for (const r of [nvme, check, old, degraded]) expect(r.skipped).toEqual([]);
  });

  corpusIt('reads the node_exporter file of many states', () => {
    const { arrays, skipped } = parseMdstat(fixture('misc/mdstat-many-states-node_exporter'));
    expect(skipped).toEqual([]);
    const by = new Map(arrays.map((a) => [a.name, a]));
    expect(arrays).toHaveLength(17);
    expect(members(by.get('md3')!)).toContain('sdd2[11](S)');
    expect(summary(by.get('md4')!)).toEqual(['md4', 'raid1', 2, 2, false]);
    expect(by.get('md4')).toMatchObject({ state: 'inactive' });
    expect(by.get('md6')).toMatchObject({ totalDevices: 2, activeDevices: 1, degraded: true, syncAction: 'recovery', syncPercent: 8.5, syncFinishMinutes: 17, syncSpeedKiBPerSec: 259783 });
    expect(members(by.get('md6')!)).toEqual(['sdb2[2](F)', 'sdc[1](S)', 'sda2[0]']);
    expect(by.get('md8')).toMatchObject({ syncAction: 'resync', syncPercent: 8.5 });
    expect(by.get('md201')).toMatchObject({ syncAction: 'check', syncPercent: 5.7, syncFinishMinutes: 0.2 });
    expect(summary(by.get('md7')!)).toEqual(['md7', 'raid6', 4, 3, true]);
    expect(by.get('md9')).toMatchObject({ syncAction: 'resync', syncState: 'delayed', syncPercent: null, totalDevices: 4, activeDevices: 4 });
    expect(by.get('md9')!.members.filter((m) => m.faulty).map((m) => m.name)).toEqual(['sde', 'sdf']);
    expect(by.get('md11')).toMatchObject({ readOnly: 'auto-read-only', syncState: 'pending' });
    expect(by.get('md101')).toMatchObject({ readOnly: 'read-only', level: 'raid0', totalDevices: 3 });
    expect(by.get('md126')).toMatchObject({ superblock: 'external:/md127/0', level: 'raid0', totalDevices: 2 });
    expect(by.get('md219')).toMatchObject({ state: 'inactive', level: null, superblock: 'external:imsm', sizeBytes: 7932 * 1024 });
    expect(by.get('md120')).toMatchObject({ level: 'linear', totalDevices: 2, activeDevices: 2 });
    expect(by.get('md00')).toMatchObject({ level: 'raid0', totalDevices: 1 });
  });
});

describe('parseZpoolStatus', () => {
  it('reads a resilver with replacing and spare vdevs, special, logs, cache and spares (our case)', () => {
    const { pools, skipped } = parseZpoolStatus(caseInput('zpool-status', 'resilver-replacing-spares-special-written'));
    expect(skipped).toEqual([]);
    const p = pools[0]!;
    expect(p).toMatchObject({
      name: 'tank', state: 'DEGRADED', errors: "2 data errors, use '-v' for a list", action: 'Wait for the resilver to complete.',
      status: 'One or more devices is currently being resilvered.  The pool will continue to function, possibly in a degraded state.',
    });
    expect(p.scan).toMatchObject({ kind: 'resilver', inProgress: true, percent: 11.1, errors: null });
    expect(tree(p.devices)).toEqual([
      'raidz2-0 DEGRADED 0/0/0', '  sda ONLINE 0/0/0', '  sdb ONLINE 0/0/0', '  replacing-2 DEGRADED 0/0/0',
      '    sdc FAULTED 12/81/0 too many errors', '    sdh ONLINE 0/0/0 (resilvering)', '  sdd ONLINE 0/0/0',
      '  spare-4 DEGRADED 0/0/0', '    sde UNAVAIL 0/0/0 cannot open', '    sdg ONLINE 0/0/0 (resilvering)',
    ]);
    expect(tree(p.special)).toEqual(['mirror-1 ONLINE 0/0/0', '  nvme0n1p1 ONLINE 0/0/0', '  nvme1n1p1 ONLINE 0/0/0']);
    expect(tree(p.logs)).toEqual(['nvme0n1p2 ONLINE 0/0/0']);
    expect(tree(p.cache)).toEqual(['nvme1n1p2 ONLINE 0/0/0']);
    expect(p.spares).toEqual([{ name: 'sdg', state: 'INUSE', note: 'currently in use' }, { name: 'sdi', state: 'AVAIL', note: null }]);
  });

  it('reads "no pools available" as no pools, and rejects what is not zpool status', () => {
    expect(parseZpoolStatus(caseInput('zpool-status', 'no-pools-written'))).toEqual({ pools: [], skipped: [] });
    expect(() => parseZpoolStatus('sh: 1: zpool: not found\n')).toThrow(ParseError);
  });

  it('skips a config row it cannot read and keeps the tree', () => {
    const text = caseInput('zpool-status', 'resilver-replacing-spares-special-written').replace('\t    sdd          ONLINE       0     0     0', '\t    sdd          ONLINE       x');
    const r = parseZpoolStatus(text);
    expect(r.skipped.map((s) => s.text.trim())).toEqual(['sdd          ONLINE       x']);
    expect(tree(r.pools[0]!.devices)).toHaveLength(9);
  });

  it('reads abbreviated counters as zfs_nicenum prints them (powers of 1024)', () => {
    expect([zfsNumber('0'), zfsNumber('11.7K'), zfsNumber('1.66T'), zfsNumber('0B'), zfsNumber('-'), zfsNumber('x')]).toEqual([
      0, Math.round(11.7 * 1024), Math.round(1.66 * 1024 ** 4), 0, null, null,
    ]);
  });

  corpusIt('reads degraded pools: a removed device, an unavailable one with a logs section', () => {
    const removed = parseZpoolStatus(fixture('zpool-status/degraded-removed-device-zse')).pools[0]!;
    expect(removed).toMatchObject({ name: 'dummy', state: 'DEGRADED', errors: 'No known data errors', see: null });
    expect(removed.scan).toEqual({ kind: 'scrub', inProgress: false, percent: 100, errors: 0, text: 'scrub repaired 0B in 10:42:32 with 0 errors on Sun Oct 20 17:29:34 2024' });
    expect(tree(removed.devices)).toEqual(['mirror-0 DEGRADED 0/0/0', '  drive0-part1 REMOVED 0/0/0', '  drive1-part1 ONLINE 0/0/0']);
    expect(removed.action).toBe("Online the device using zpool online' or replace the device with 'zpool replace'.");

    const smartos = parseZpoolStatus(fixture('zpool-status/degraded-unavail-was-dev-logs-smartos-textfile')).pools[0]!;
    expect(smartos).toMatchObject({ name: 'zones', state: 'DEGRADED', see: 'http://illumos.org/msg/ZFS-8000-2Q' });
    expect(smartos.scan).toMatchObject({ kind: 'scrub', percent: 100, errors: 0 });
    expect(tree(smartos.devices)).toEqual([
      'mirror-0 DEGRADED 0/0/0', '  9669136929555758172 UNAVAIL 0/0/0 was /dev/dsk/c0t5000C5006349E003d0s0', '  c0t5000C500631F81E7d0 ONLINE 0/0/0',
      'mirror-1 ONLINE 0/0/0', '  c0t5000C500634A297Bd0 ONLINE 0/0/0', '  c0t5000C500634B4EA3d0 ONLINE 0/0/0',
    ]);
    expect(tree(smartos.logs)).toEqual(['c0t55CD2E404B73663Dd0 ONLINE 0/0/0']);
  });

  corpusIt('reads healthy pools, a running scrub and abbreviated checksum errors', () => {
    const two = parseZpoolStatus(fixture('zpool-status/online-2pools-raidz1-nvme-mirror-textfile'));
    expect(two.pools.map((p) => [p.name, p.state, p.scan.text])).toEqual([
      ['pool0', 'ONLINE', 'scrub repaired 0B in 06:58:02 with 0 errors on Sun Nov 12 07:22:03 2023'],
      ['pool1', 'ONLINE', 'scrub repaired 1M in 00:04:45 with 0 errors on Sun Nov 12 00:28:47 2023'],
    ]);
    expect(tree(two.pools[0]!.devices)).toEqual([
      'raidz1-0 ONLINE 0/0/0', '  ata-TOSHIBA_MG09ACA18TE_82X0A0QMFJDH ONLINE 0/0/0', '  ata-TOSHIBA_MG09ACA18TE_82J0A00FFJDH ONLINE 0/0/0',
      '  ata-TOSHIBA_MG09ACA18TE_82X0A0QPFJDH ONLINE 0/0/0',
    ]);
    expect(tree(two.pools[1]!.devices)[0]).toBe('mirror-0 ONLINE 0/0/0');

    const cksum = parseZpoolStatus(fixture('zpool-status/online-cksum-errors-11.7K-lifeguard')).pools[0]!;
    expect(cksum).toMatchObject({ name: 'test', state: 'ONLINE', see: 'http://zfsonlinux.org/msg/ZFS-8000-9P' });
    expect(cksum.status).toBe('One or more devices has experienced an unrecoverable error.  An attempt was made to correct the error.  Applications are unaffected.');
    expect(tree(cksum.devices)).toEqual([
      'mirror-0 ONLINE 0/0/0', '  pci-0000:03:00.0-scsi-0:0:1:0 ONLINE 0/0/0', `  pci-0000:03:00.0-scsi-0:0:2:0 ONLINE 0/0/${Math.round(11.7 * 1024)}`,
    ]);

    const scrub = parseZpoolStatus(fixture('zpool-status/scrub-in-progress-mirror-zse')).pools[0]!;
    expect(scrub.scan).toMatchObject({ kind: 'scrub', inProgress: true, percent: 0, errors: null });
    expect(scrub.scan.text).toBe('scrub in progress since Sun Feb 11 11:54:20 2024 704G / 1.66T scanned at 5.67G/s, 0B / 1.66T issued 0B repaired, 0.00% done, no estimated completion time');
    expect(tree(scrub.devices)).toEqual(['mirror-0 ONLINE 0/0/0', '  wwn-0x5000c500af8ec287-part2 ONLINE 0/0/0', '  ata-TOSHIBA_HDWQ140_50SRK3F3FBJG-part1 ONLINE 0/0/0']);
  });

  corpusIt('reads the jc files: two mirrors with a feature notice, a faulted pool with error files (old "scrub:" key)', () => {
    const mirrors = parseZpoolStatus(fixture('misc/zpool-status-mirrors-features-jc.txt'));
    expect(mirrors.skipped).toEqual([]);
    expect(mirrors.pools[0]!.action).toBe("Enable all features using 'zpool upgrade'. Once this is done, the pool may no longer be accessible by software that does not support the features. See zpool-features(7) for details.");
    expect(tree(mirrors.pools[0]!.devices).filter((l) => !l.startsWith(' '))).toEqual(['mirror-0 ONLINE 0/0/0', 'mirror-1 ONLINE 0/0/0']);

    const faulted = parseZpoolStatus(fixture('misc/zpool-status-unavail-faulted-jc.txt'));
    expect(faulted.skipped).toEqual([]);
    const tank = faulted.pools[0]!;
    expect(tank).toMatchObject({ name: 'tank', state: 'UNAVAIL', see: 'http://www.sun.com/msg/ZFS-8000-HC', errors: 'Permanent errors have been detected in the following files:' });
    expect(tank.scan).toMatchObject({ kind: 'scrub', inProgress: false, percent: 100, errors: 0 });
    expect(tree(tank.devices)).toEqual(['c1t0d0 ONLINE 0/0/0', 'c1t1d0 UNAVAIL 4/1/0 cannot open']);
    expect(tank.errorFiles).toEqual(['/tank/data/aaa', '/tank/data/bbb', '/tank/data/ccc']);
  });
});

describe('parseZpoolList', () => {
  it('reads ZPOOL_LIST_COMMAND output (our case)', () => {
    const { pools, skipped } = parseZpoolList(caseInput('zpool-list', 'command-two-pools-written'));
    expect(skipped).toEqual([]);
    expect(pools).toEqual([
      { name: 'tank', health: 'DEGRADED', sizeBytes: 23991808278528, allocBytes: 10720398876672, freeBytes: 13271409401856, fragPercent: 9, capPercent: 44, dedupRatio: 1 },
      { name: 'backup', health: 'ONLINE', sizeBytes: 7999999967232, allocBytes: 2684354560000, freeBytes: 5315645407232, fragPercent: 1, capPercent: 33, dedupRatio: 1 },
    ]);
  });

  it('reads zpool default column orders without a header and skips rows that are no pool', () => {
    const old = 'tank\t1.81T\t1.02T\t812G\t56%\t1.00x\tONLINE\t-\nweird line\n';
    const r = parseZpoolList(old);
    expect(r.pools).toEqual([{ name: 'tank', health: 'ONLINE', sizeBytes: Math.round(1.81 * 1024 ** 4), allocBytes: Math.round(1.02 * 1024 ** 4), freeBytes: 812 * 1024 ** 3, fragPercent: null, capPercent: 56, dedupRatio: 1 }]);
    expect(r.skipped.map((s) => s.line)).toEqual([2]);
    const ckpoint = 'rpool\t464G\t11.2G\t453G\t-\t-\t1%\t2%\t1.00x\tONLINE\t-\n';
    expect(parseZpoolList(ckpoint).pools[0]).toMatchObject({ health: 'ONLINE', fragPercent: 1, capPercent: 2, dedupRatio: 1 });
    expect(parseZpoolList('no pools available\n')).toEqual({ pools: [], skipped: [] });
    expect(() => parseZpoolList('cannot open pool\n')).toThrow(ParseError);
  });

  corpusIt('reads the corpus: -Hp in two generations, a header with a faulted pool, and -Hv', () => {
    const freenas = parseZpoolList(fixture('zpool-list/Hp-4pools-freenas-telegraf')).pools;
    expect(freenas.map((p) => [p.name, p.health, p.fragPercent, p.capPercent, p.dedupRatio])).toEqual([
      ['freenas-boot', 'ONLINE', null, 6, 1], ['red1', 'ONLINE', 8, 12, 1.83], ['temp1', 'ONLINE', 38, 54, 1.28], ['temp2', 'ONLINE', 12, 20, 1],
    ]);
    expect(freenas[1]).toMatchObject({ sizeBytes: 8933531975680, allocBytes: 1126164848640, freeBytes: 7807367127040 });

    expect(parseZpoolList(fixture('zpool-list/Hp-zroot-freebsd14-telegraf')).pools).toEqual([
      { name: 'zroot', health: 'ONLINE', sizeBytes: 67108864000, allocBytes: 11959578624, freeBytes: 55149285376, fragPercent: 4, capPercent: 17, dedupRatio: 1 },
    ]);

    expect(parseZpoolList(fixture('zpool-list/p-header-faulted-pool-netdata')).pools).toEqual([
      { name: 'rpool', health: 'ONLINE', sizeBytes: 21367462298, allocBytes: 9051643576, freeBytes: 12240656794, fragPercent: 33, capPercent: 42, dedupRatio: 1 },
      { name: 'zion', health: 'FAULTED', sizeBytes: null, allocBytes: null, freeBytes: null, fragPercent: null, capPercent: null, dedupRatio: null },
    ]);

    const verbose = parseZpoolList(fixture('misc/zpool-list-Hv-pve.txt'));
    expect(verbose.skipped).toEqual([]);
    expect(verbose.pools).toEqual([
      { name: 'testpool', health: 'ONLINE', sizeBytes: 2 * 1024 ** 4, allocBytes: 1024 ** 4, freeBytes: Math.round(2.6 * 1024 ** 4), fragPercent: 5, capPercent: 28, dedupRatio: 1 },
    ]);
  });
});

describe('parseBtrfsDeviceStats', () => {
  it('reads a RAID1 with 3 corruption errors, captured here', () => {
    const { devices, skipped } = parseBtrfsDeviceStats(caseInput('btrfs-device-stats', 'raid1-loop-corruption-3'));
    expect(skipped).toEqual([]);
    expect(devices).toEqual([
      { device: '/dev/loop0', mount: null, writeIoErrs: 0, readIoErrs: 0, flushIoErrs: 0, corruptionErrs: 0, generationErrs: 0 },
      { device: '/dev/loop1', mount: null, writeIoErrs: 0, readIoErrs: 0, flushIoErrs: 0, corruptionErrs: 3, generationErrs: 0 },
    ]);
  });

  it('reads the command output: one section per filesystem, mount points with spaces', () => {
    const { devices } = parseBtrfsDeviceStats(caseInput('btrfs-device-stats', 'command-two-filesystems'));
    expect(devices.map((d) => [d.mount, d.device, d.corruptionErrs])).toEqual([
      ['/tmp/parsers-btrfs/mnt', '/dev/loop0', 0],
      ['/tmp/parsers-btrfs/mnt', '/dev/loop1', 3],
      ['/tmp/parsers-btrfs/mnt two', '/dev/loop2', 0],
    ]);
  });

  it('keeps a missing counter null, skips unknown lines, and rejects an error alone', () => {
    const r = parseBtrfsDeviceStats('[/dev/sda].write_io_errs 2\n[/dev/sda].new_counter 5\nWARNING: something\n');
    expect(r.devices).toEqual([{ device: '/dev/sda', mount: null, writeIoErrs: 2, readIoErrs: null, flushIoErrs: null, corruptionErrs: null, generationErrs: null }]);
    expect(r.skipped.map((s) => s.line)).toEqual([2, 3]);
    // what `btrfs device stats` said as user nobody on the machine above
    expect(() => parseBtrfsDeviceStats('ERROR: getting device info for /tmp/parsers-btrfs/mnt failed: Operation not permitted\n')).toThrow(
      new ParseError('expected "[<device>].<counter>   <number>"', 1),
    );
  });

  it('the command reads each filesystem once, in a real shell, with a fake btrfs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'infrapulse-btrfs-'));
    writeFileSync(join(dir, 'btrfs'), '#!/bin/sh\nprintf "[/dev/x].write_io_errs 0\\n[/dev/x].arg %s\\n" "$3"\n');
    chmodSync(join(dir, 'btrfs'), 0o755);
    // /proc/mounts is read by the command; give it a copy through a rewritten path
    writeFileSync(join(dir, 'mounts'), '/dev/sdb /data btrfs rw 0 0\n/dev/sdb /data/snap btrfs rw 0 0\n/dev/sdc /mnt/my\\040disk btrfs rw 0 0\nproc /proc proc rw 0 0\n');
    const command = BTRFS_DEVICE_STATS_COMMAND.replace('</proc/mounts', `<${join(dir, 'mounts')}`);
    const out = execFileSync('/bin/sh', ['-c', command], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' });
    expect(out).toBe('@@ip:fs /data\n[/dev/x].write_io_errs 0\n[/dev/x].arg /data\n@@ip:fs /mnt/my disk\n[/dev/x].write_io_errs 0\n[/dev/x].arg /mnt/my disk\n');
    const none = execFileSync('/bin/sh', ['-c', BTRFS_DEVICE_STATS_COMMAND], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
    expect(none).toBe('@@ip:no-btrfs\n');
  });

  corpusIt('reads the three mailing-list outputs', () => {
    const raid10 = parseBtrfsDeviceStats(fixture('btrfs-device-stats/raid10-6dev-all-zero-linux-btrfs-ml.txt'));
    expect(raid10.devices.map((d) => d.device)).toEqual(['/dev/sda', '/dev/sdb', '/dev/sdc', '/dev/sdd', '/dev/sde', '/dev/sdf']);
    expect(raid10.devices.every((d) => d.writeIoErrs === 0 && d.readIoErrs === 0 && d.flushIoErrs === 0 && d.corruptionErrs === 0 && d.generationErrs === 0)).toBe(true);
    expect(parseBtrfsDeviceStats(fixture('btrfs-device-stats/single-dm-lvm-all-zero-linux-btrfs-ml.txt')).devices).toEqual([
      { device: '/dev/mapper/kubuntu--vg-lv_root', mount: null, writeIoErrs: 0, readIoErrs: 0, flushIoErrs: 0, corruptionErrs: 0, generationErrs: 0 },
    ]);
    expect(parseBtrfsDeviceStats(fixture('btrfs-device-stats/synology-corruption-1014-linux-btrfs-ml.txt')).devices).toEqual([
      { device: '/dev/mapper/vg1-volume_1', mount: null, writeIoErrs: 0, readIoErrs: 0, flushIoErrs: 0, corruptionErrs: 1014, generationErrs: 0 },
    ]);
  });
});
