import { describe, expect, it, vi } from 'vitest';
import { collectors, defaultCollectorOptions } from '../../../src/collectors/index.ts';
import { SYSTEM_COMMAND, parseSystemOutput, systemRows } from '../../../src/collectors/system.ts';
import { DRIVES_COMMAND, DRIVES_COMMAND_SUDO, driveAttributes, driveCounters, driveSelfTests } from '../../../src/collectors/drives.ts';
import { craftedSmartctl } from '../../helpers/rows.ts';
import { CONTAINERS_COMMAND, classifyEngineFailure } from '../../../src/collectors/containers.ts';
import { syntheticSystemOutput } from '../../../src/collectors/synthetic.ts';
import { CollectorError, type CollectContext } from '../../../src/collectors/types.ts';
import type { CommandRunner } from '../../../src/transport/types.ts';
import { fakeRunner } from '../../helpers/transport.ts';
import { captured, caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';

function ctx<S>(runner: CommandRunner, state: NoInfer<S> | undefined, time: Date, sudo = false): CollectContext<S> {
  return {
    deviceId: 'dev-1',
    time,
    runner,
    options: { ...defaultCollectorOptions, sudoSmartctl: sudo },
    state,
    timeoutMs: 10_000,
  };
}

const T0 = new Date('2026-11-27T01:00:00Z');
const T1 = new Date('2026-11-27T01:00:05Z');

describe('system collector', () => {
  it('runs one constant exec; first poll has absolute values and null rates, second has rates', async () => {
    const runner = fakeRunner({ stdout: captured('system-poll-1.txt') }, { stdout: captured('system-poll-2.txt') });
    const first = await collectors.system.collect(ctx(runner, undefined, T0));
    expect(runner.commands).toEqual([SYSTEM_COMMAND]);
    expect(first.problems).toEqual([]);
    const s0 = first.batch.system[0]!;
    expect(s0).toMatchObject({ deviceId: 'dev-1', time: T0, cpuCount: 2, cpuPercent: null, corePercents: [], netRxBytesPerSec: null, diskReadBytesPerSec: null });
    expect(s0.memTotalBytes).toBeGreaterThan(0);
    expect(s0.uptimeSeconds).toBeGreaterThan(0);
    expect(s0.processCount).toBeGreaterThan(1);
    expect(first.batch.filesystems.map((f) => f.mount)).toEqual(['/']); // tmpfs/devtmpfs left out
    expect(first.batch.networks.map((n) => n.interface)).toEqual(['lo', 'ifb0', 'ifb1', 'eth0']);
    expect(first.batch.networks.every((n) => n.rxBytesPerSec === null)).toBe(true);
    expect(first.batch.diskIo.map((d) => d.disk)).toEqual(['vda']);

    const second = await collectors.system.collect(ctx(runner, first.state, T1));
    const s1 = second.batch.system[0]!;
    expect(s1.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(s1.cpuPercent).toBeLessThanOrEqual(100);
    expect(s1.corePercents).toHaveLength(2);
    expect(s1.netRxBytesPerSec).toBeGreaterThanOrEqual(0);
    expect(s1.diskWriteBytesPerSec).toBeGreaterThanOrEqual(0);
    const eth0 = second.batch.networks.find((n) => n.interface === 'eth0')!;
    expect(eth0.rxBytesPerSec).toBeGreaterThanOrEqual(0);
    // device totals leave out lo and ifb*: only eth0 counts
    expect(s1.netRxBytesPerSec).toBe(eth0.rxBytesPerSec);
    expect(second.batch.diskIo[0]!.utilPercent).toBeGreaterThanOrEqual(0);
  });

  it('computes rates from known deltas and never goes negative after a reboot', () => {
    const options = defaultCollectorOptions;
    const a = parseSystemOutput(syntheticSystemOutput({ cpus: 4, interfaces: 4, disks: 4, poll: 0 }));
    const b = parseSystemOutput(syntheticSystemOutput({ cpus: 4, interfaces: 4, disks: 4, poll: 1 }));
    const r0 = systemRows(a, { deviceId: 'd', time: T0, options }, undefined);
    const r1 = systemRows(b, { deviceId: 'd', time: T1, options }, r0.state);
    const eth0a = a.interfaces!.find((i) => i.name === 'eth0')!;
    const eth0b = b.interfaces!.find((i) => i.name === 'eth0')!;
    // 30 s of host uptime between the synthetic polls, not the 5 s between poll timestamps
    expect(r1.networks.find((n) => n.interface === 'eth0')!.rxBytesPerSec).toBeCloseTo((eth0b.rxBytes - eth0a.rxBytes) / 30, 9);
    expect(r1.system.cpuPercent).not.toBeNull();
    expect(r1.system.corePercents).toHaveLength(4);

    // reboot: uptime falls, counters restart low
    const rebooted = parseSystemOutput(
      syntheticSystemOutput({ cpus: 4, interfaces: 4, disks: 4, poll: 0, seed: 2 }).replace(/^864000\.42/m, '12.00'),
    );
    const r2 = systemRows(rebooted, { deviceId: 'd', time: new Date(T1.getTime() + 60_000), options }, r1.state);
    expect(r2.system.cpuPercent).toBeNull();
    expect(r2.system.netRxBytesPerSec).toBeNull();
    expect(r2.networks.every((n) => n.rxBytesPerSec === null)).toBe(true);
    expect(r2.diskIo.every((d) => d.readBytesPerSec === null)).toBe(true);
  });

  it('sums disk totals over physical disks only (not dm-/md)', () => {
    const text = (n: number) =>
      [
        '@@ip:uptime', `${100 + n * 10}.00 0`, '@@ip:stat', 'cpu 1 1 1 1', '@@ip:meminfo', 'MemTotal: 10 kB', 'MemFree: 5 kB',
        '@@ip:loadavg', '0 0 0 1/1 1', '@@ip:diskstats',
        `8 0 sda 0 0 ${n * 2000} 0 0 0 0 0 0 ${n * 1000} 0`,
        `8 1 sda1 0 0 ${n * 2000} 0 0 0 0 0 0 0 0`,
        `253 0 dm-0 0 0 ${n * 2000} 0 0 0 0 0 0 0 0`,
        '@@ip:end', '',
      ].join('\n');
    const options = defaultCollectorOptions;
    const r0 = systemRows(parseSystemOutput(text(0)), { deviceId: 'd', time: T0, options }, undefined);
    const r1 = systemRows(parseSystemOutput(text(1)), { deviceId: 'd', time: T1, options }, r0.state);
    expect(r1.diskIo.map((d) => [d.disk, d.readBytesPerSec])).toEqual([['sda', 102400], ['dm-0', 102400]]);
    expect(r1.system.diskReadBytesPerSec).toBe(102400);
    expect(r1.diskIo[0]!.utilPercent).toBe(10);
  });

  it('returns the lines its parsers skipped, by section, and still polls', async () => {
    const stdout = captured('system-poll-1.txt')
      .replace('@@ip:meminfo\n', '@@ip:meminfo\nIon heap usage: 1024 pages\n')
      .replace('@@ip:diskstats\n', '@@ip:diskstats\n   8    1 sda1 310 4206 22 176\n');
    const res = await collectors.system.collect(ctx(fakeRunner({ stdout }), undefined, T0));
    expect(res.problems).toEqual([]);
    expect(res.batch.system[0]!.memTotalBytes).toBeGreaterThan(0);
    expect(res.skipped).toEqual([
      { section: 'meminfo', line: 1, text: 'Ion heap usage: 1024 pages', reason: 'expected "Key: <number> [kB]" line' },
      { section: 'diskstats', line: 1, text: '   8    1 sda1 310 4206 22 176', reason: 'expected "major minor name" and at least 11 numeric fields' },
    ]);
  });

  it('reports unreadable output as BAD_OUTPUT', async () => {
    const runner = fakeRunner({ stdout: 'garbage', stderr: '', code: 0 });
    await expect(collectors.system.collect(ctx(runner, undefined, T0))).rejects.toMatchObject({ reason: 'BAD_OUTPUT' });
  });
});

function drivesOutput(parts: { name: string; type: string; json?: string; raw?: string; rc: number }[], scan: string): string {
  const out = [`@@ip:scan 0`, scan];
  for (const p of parts) {
    out.push(`@@ip:drive ${p.name} ${p.type}`, p.json ?? p.raw ?? '', `@@ip:rc ${p.rc}`);
  }
  out.push('@@ip:end', '');
  return out.join('\n');
}

describe('drives collector', () => {
  it('gives one unreadable drive a row with its error while the others are read (our cases)', async () => {
    const scan = ['/dev/sda -d sat # /dev/sda [SAT], ATA device', '/dev/nvme0 -d nvme # /dev/nvme0, NVMe device', '/dev/vda -d sat # /dev/vda [SAT], ATA device'].join('\n');
    const stdout = drivesOutput(
      [
        { name: '/dev/sda', type: 'sat', json: caseInput('smartctl', 'ata-pending-sectors-written'), rc: 64 },
        { name: '/dev/nvme0', type: 'nvme', json: caseInput('smartctl', 'nvme-healthy-written'), rc: 0 },
        { name: '/dev/vda', type: 'sat', json: caseInput('smartctl', 'vda-sat-open-not-permitted'), rc: 2 },
      ],
      scan,
    );
    const res = await collectors.drives.collect(ctx(fakeRunner({ stdout }), undefined, T0));
    expect(res.batch.drives.map((r) => [r.drive, r.health, r.error])).toEqual([
      ['/dev/sda', 'WARNING', null],
      ['/dev/nvme0', 'HEALTHY', null],
      ['/dev/vda', 'UNKNOWN', 'Smartctl open device: /dev/vda [SAT] failed: Operation not permitted'],
    ]);
    expect(res.batch.drives[0]).toMatchObject({ pendingSectors: 8, exitStatus: 64, temperatureC: 34 });
    expect(res.problems).toEqual(['/dev/vda: Smartctl open device: /dev/vda [SAT] failed: Operation not permitted']);
  });

  corpusIt('gives one failing drive a row with its error while the others are fine', async () => {
    const scan = [
      '/dev/sda -d sat # /dev/sda [SAT], ATA device',
      '/dev/nvme0 -d nvme # /dev/nvme0, NVMe device',
      '/dev/sdb -d sat # /dev/sdb [SAT], ATA device',
      '# /dev/sdc -d scsi # /dev/sdc, SCSI device open failed: No such device',
    ].join('\n');
    const stdout = drivesOutput(
      [
        { name: '/dev/sda', type: 'sat', json: fixture('smartctl/sata-hdd-seagate-st3500418as-304-realloc.json'), rc: 0 },
        { name: '/dev/nvme0', type: 'nvme', json: fixture('smartctl/nvme-sabrent-rocket4-smartctl74.json'), rc: 0 },
        { name: '/dev/sdb', type: 'sat', json: fixture('smartctl/error-open-failed-exit2.json'), rc: 2 },
      ],
      scan,
    );
    const runner = fakeRunner({ stdout });
    const res = await collectors.drives.collect(ctx(runner, undefined, T0));
    expect(runner.commands).toEqual([DRIVES_COMMAND]);
    const rows = res.batch.drives;
    expect(rows.map((r) => [r.drive, r.health])).toEqual([
      ['/dev/sda', 'WARNING'],
      ['/dev/nvme0', 'HEALTHY'],
      ['/dev/sdb', 'UNKNOWN'],
      ['/dev/sdc', 'UNKNOWN'],
    ]);
    expect(rows[0]).toMatchObject({ model: 'ST3500418AS', reallocatedSectors: 304, temperatureC: 33, error: null, exitStatus: 0 });
    expect(rows[1]).toMatchObject({ protocol: 'NVMe', percentUsed: 4, error: null });
    expect(rows[2]!.error).toMatch(/Smartctl open device: \/dev\/sda failed/);
    expect(rows[2]!.exitStatus).toBe(2);
    expect(rows[3]).toMatchObject({ error: 'open failed: No such device', exitStatus: null, attributes: null });
    expect(res.problems).toHaveLength(2);
    expect(driveAttributes(rows[0]!)).toMatchObject({ exitBits: [], healthReasons: ['reallocated sectors: 304'] });
  });

  it('keeps smartctl\'s output in the row as the text smartctl printed (issue 16): 1.50 and integers past 2^53 unchanged', async () => {
    const text = craftedSmartctl();
    const stdout = drivesOutput([{ name: '/dev/sda', type: 'sat', json: text, rc: 64 }], '/dev/sda -d sat # /dev/sda [SAT], ATA device');
    const row = (await collectors.drives.collect(ctx(fakeRunner({ stdout }), undefined, T0))).batch.drives[0]!;
    const reasons = ['pending sectors: 8', 'uncorrectable errors: 8', 'smartctl: device error log has entries'];
    expect(row.attributes).toBe(`{"smartctl":${text},"exitBits":["ERROR_LOG_ENTRIES"],"healthReasons":${JSON.stringify(reasons)}}`);
    const attrs = driveAttributes(row);
    expect(attrs).toEqual({ smartctl: JSON.parse(text), exitBits: ['ERROR_LOG_ENTRIES'], healthReasons: reasons });
    expect(driveAttributes(row)).toBe(attrs); // parsed once per row, however many readers ask
  });

  corpusIt('a freshly collected row and the same row read back from PostgreSQL (parsed jsonb) give the same counters, self-tests and reasons', async () => {
    const stdout = drivesOutput([{ name: '/dev/sda', type: 'sat', json: fixture('smartctl/sata-hdd-wd140edfz-a.json'), rc: 0 }], '/dev/sda -d sat # /dev/sda [SAT], ATA device');
    const live = (await collectors.drives.collect(ctx(fakeRunner({ stdout }), undefined, T0))).batch.drives[0]!;
    const stored = { ...live, attributes: JSON.parse(live.attributes as string) as Record<string, unknown> };
    expect(driveCounters(live)).toEqual(driveCounters(stored));
    expect(driveCounters(live).crcErrors).toBe(0);
    expect(driveSelfTests(live)).toEqual(driveSelfTests(stored));
    expect(driveSelfTests(live)).toHaveLength(21);
    expect(driveAttributes(live)?.healthReasons).toEqual(driveAttributes(stored)?.healthReasons);
    expect(driveAttributes({ attributes: null })).toBeNull();
  });

  it('a freshly collected row\'s counters (what the alert evaluator takes of every new row) need no parse of its text', async () => {
    const stdout = drivesOutput([{ name: '/dev/sda', type: 'sat', json: craftedSmartctl(), rc: 64 }], '/dev/sda -d sat # /dev/sda [SAT], ATA device');
    const live = (await collectors.drives.collect(ctx(fakeRunner({ stdout }), undefined, T0))).batch.drives[0]!;
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(driveCounters(live)).toEqual({ reallocatedSectors: 0, pendingSectors: 8, uncorrectableErrors: 8, mediaErrors: null, crcErrors: null });
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
    // A copy (a live event's wire row) is read from its text.
    expect(driveCounters({ ...live })).toEqual(driveCounters(live));
  });

  it('uses the sudo variant and says when sudo needs a password', async () => {
    const runner = fakeRunner({ stdout: '@@ip:scan 1\nsudo: a password is required\n@@ip:end\n' });
    const err = await collectors.drives.collect(ctx(runner, undefined, T0, true)).catch((e: unknown) => e);
    expect(runner.commands).toEqual([DRIVES_COMMAND_SUDO]);
    expect(err).toBeInstanceOf(CollectorError);
    expect(err).toMatchObject({ reason: 'PERMISSION_DENIED' });
  });

  it('reports smartctl missing as NOT_INSTALLED and a non-root open as PERMISSION_DENIED', async () => {
    await expect(
      collectors.drives.collect(ctx(fakeRunner({ stdout: '@@ip:no-smartctl\n' }), undefined, T0)),
    ).rejects.toMatchObject({ reason: 'NOT_INSTALLED' });
    const denied = '{"smartctl":{"messages":[{"string":"Smartctl open device: /dev/sda failed: Permission denied","severity":"error"}],"exit_status":2}}';
    const stdout = drivesOutput([{ name: '/dev/sda', type: 'auto', json: denied, rc: 2 }], '/dev/sda -d auto # x');
    await expect(collectors.drives.collect(ctx(fakeRunner({ stdout }), undefined, T0))).rejects.toMatchObject({
      reason: 'PERMISSION_DENIED',
    });
  });

  it('gives a row with the text when smartctl printed no JSON, and reports no drives as NO_DEVICES (not available, not a fault)', async () => {
    const stdout = drivesOutput([{ name: '/dev/sda', type: 'sat', raw: 'sudo: unable to execute smartctl: I/O error', rc: 1 }], '/dev/sda -d sat');
    const res = await collectors.drives.collect(ctx(fakeRunner({ stdout }), undefined, T0));
    expect(res.batch.drives[0]).toMatchObject({ drive: '/dev/sda', health: 'UNKNOWN', error: 'sudo: unable to execute smartctl: I/O error', exitStatus: 1 });
    await expect(collectors.drives.collect(ctx(fakeRunner({ stdout: captured('drives-no-devices.stdout') }), undefined, T0))).rejects.toMatchObject({
      reason: 'NO_DEVICES',
    });
  });

  it('never puts a scanned name into the command text', () => {
    expect(DRIVES_COMMAND).not.toMatch(/\/dev\/sd/);
    expect(DRIVES_COMMAND).toContain('"$dev"');
  });
});

describe('containers collector', () => {
  it('merges ps, stats and inspect of one exec', async () => {
    const runner = fakeRunner({ stdout: captured('containers-poll.stdout') });
    const res = await collectors.containers.collect(ctx(runner, undefined, T0));
    expect(runner.commands).toEqual([CONTAINERS_COMMAND]);
    expect(res.problems).toEqual([]);
    const rows = res.batch.containers;
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual({
      time: T0, deviceId: 'dev-1',
      containerId: '3f4e8a1c9b2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f',
      name: 'web-proxy-1', image: 'nginx:1.25', state: 'running', health: 'healthy', restartCount: 0, exitCode: null,
      createdAt: new Date('2024-05-02T07:14:07Z'), startedAt: new Date('2024-05-02T07:14:08.123Z'),
      cpuPercent: 0.25, memUsageBytes: 1572864, memLimitBytes: Math.round(7.7 * 1024 ** 3),
      netRxBytes: 1200, netTxBytes: 648, blockReadBytes: 12_300_000, blockWriteBytes: 4100, pids: 5,
    });
    expect(rows[2]).toMatchObject({ name: 'worker', state: 'exited', exitCode: 137, cpuPercent: null, memUsageBytes: null });
    expect(rows[3]).toMatchObject({ name: 'flaky', state: 'restarting', restartCount: 14, exitCode: 1 });
    expect(rows[4]).toMatchObject({ name: 'paused-box', state: 'paused', memUsageBytes: 412 * 1024 });
  });

  it('skips a CLI warning among the ps JSON lines and says so', async () => {
    const stdout = captured('containers-poll.stdout').replace('@@ip:ps\n', '@@ip:ps\nWARNING: Error loading config file: /root/.docker/config.json: permission denied\n');
    const res = await collectors.containers.collect(ctx(fakeRunner({ stdout }), undefined, T0));
    expect(res.batch.containers).toHaveLength(5);
    expect(res.problems).toEqual([]);
    expect(res.skipped).toMatchObject([{ section: 'ps', line: 1, text: 'WARNING: Error loading config file: /root/.docker/config.json: permission denied' }]);
  });

  it('keeps ps rows when stats failed', async () => {
    const stdout = captured('containers-poll.stdout').replace(/@@ip:stats\n[\s\S]*?@@ip:rc 0/, '@@ip:stats\nError response from daemon: timeout\n@@ip:rc 1');
    const res = await collectors.containers.collect(ctx(fakeRunner({ stdout }), undefined, T0));
    expect(res.batch.containers).toHaveLength(5);
    expect(res.batch.containers[0]!.cpuPercent).toBeNull();
    expect(res.problems).toEqual(['docker stats failed (exit 1): Error response from daemon: timeout']);
  });

  it('docker absent → NOT_INSTALLED', async () => {
    const err = await collectors.containers
      .collect(ctx(fakeRunner({ stdout: captured('containers-no-engine.stdout'), code: 127 }), undefined, T0))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectorError);
    expect(err).toMatchObject({ reason: 'NOT_INSTALLED' });
  });

  it('daemon down → DAEMON_DOWN (real docker CLI output)', async () => {
    const err = await collectors.containers
      .collect(ctx(fakeRunner({ stdout: captured('containers-daemon-down.stdout') }), undefined, T0))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'DAEMON_DOWN' });
    expect((err as Error).message).toContain('Cannot connect to the Docker daemon');
  });

  it('socket not accessible → PERMISSION_DENIED (real docker CLI output)', async () => {
    const err = await collectors.containers
      .collect(ctx(fakeRunner({ stdout: captured('containers-permission-denied.stdout') }), undefined, T0))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'PERMISSION_DENIED' });
  });

  it('classifies engine failures', () => {
    expect(classifyEngineFailure('sh: 1: docker: not found', 127)).toBe('NOT_INSTALLED');
    expect(classifyEngineFailure('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', 1)).toBe('DAEMON_DOWN');
    expect(classifyEngineFailure('Error: unable to connect to Podman socket: no such file', 125)).toBe('DAEMON_DOWN');
    expect(classifyEngineFailure('got permission denied while trying to connect to the Docker daemon socket', 1)).toBe('PERMISSION_DENIED');
    expect(classifyEngineFailure('something else', 1)).toBe('COMMAND_FAILED');
  });
});

describe('DRIVES_COMMAND in a real shell', () => {
  it('loops over scanned drives, passes -d types through, and skips unsafe names', async () => {
    const { mkdtempSync, writeFileSync, chmodSync, existsSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const bin = mkdtempSync(join(tmpdir(), 'infrapulse-fake-smartctl-'));
    const marker = join(bin, 'pwned');
    writeFileSync(
      join(bin, 'smartctl'),
      [
        '#!/bin/sh',
        'if [ "$1" = --scan-open ]; then',
        "  echo '/dev/sda -d sat # /dev/sda [SAT], ATA device'",
        "  echo '/dev/bus/0 -d megaraid,3 # /dev/bus/0 [megaraid_disk_03], SCSI device'",
        "  echo '# /dev/sdb -d scsi # /dev/sdb, SCSI device open failed: Permission denied'",
        `  echo '/dev/sd$(touch ${marker}) -d sat # hostile name'`,
        "  echo '/dev/sdc -d sat;touch${IFS}x # hostile type'",
        '  exit 0',
        'fi',
        'printf \'{"smartctl":{"exit_status":0},"device":{"name":"%s","type":"%s","protocol":"ATA"},"smart_status":{"passed":true}}\' "$5" "$4"',
        '',
      ].join('\n'),
    );
    chmodSync(join(bin, 'smartctl'), 0o755);
    const stdout = execFileSync('/bin/sh', ['-c', DRIVES_COMMAND], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
      encoding: 'utf8',
    });
    const res = await collectors.drives.collect(ctx(fakeRunner({ stdout }), undefined, T0));
    expect(res.batch.drives.map((d) => [d.drive, d.health, d.error])).toEqual([
      ['/dev/sda', 'HEALTHY', null],
      ['/dev/bus/0 -d megaraid,3', 'HEALTHY', null],
      ['/dev/sdb', 'UNKNOWN', 'open failed: Permission denied'],
    ]);
    expect(existsSync(marker)).toBe(false);
  });
});
