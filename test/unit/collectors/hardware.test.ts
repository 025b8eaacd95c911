// The storage, sensors and GPU collectors: one constant exec each, rows from real-format outputs
// (the repository's golden case inputs, and the shared corpus where it is), and the line between
// "this host has none" (UNAVAILABLE reasons) and "it broke" (problems, FAILING reasons).
import { describe, expect, it } from 'vitest';
import { collectors, defaultCollectorOptions } from '../../../src/collectors/index.ts';
import { GPU_COMMAND } from '../../../src/collectors/gpu-collector.ts';
import { parseStorageOutput, poolHealth, storageRows, STORAGE_COMMAND } from '../../../src/collectors/pools.ts';
import { fanStatus, temperatureStatus } from '../../../src/collectors/sensor-collector.ts';
import { HWMON_COMMAND } from '../../../src/collectors/sensors.ts';
import { CollectorError, UNAVAILABLE_REASONS, type CollectContext } from '../../../src/collectors/types.ts';
import type { CommandRunner, ExecResult } from '../../../src/transport/types.ts';
import { fakeRunner } from '../../helpers/transport.ts';
import { caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';
import { hiddenClassCount } from '../../helpers/hidden-classes.ts';

const runner = (result: Partial<ExecResult>) => fakeRunner(result);

const T = new Date('2026-12-02T06:00:00Z');
const ctx = (r: CommandRunner): CollectContext<Record<string, never>> => ({ deviceId: 'dev-1', time: T, runner: r, options: defaultCollectorOptions, state: undefined, timeoutMs: 10_000 });

async function collectorError(p: Promise<unknown>): Promise<CollectorError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CollectorError) return err;
    throw err;
  }
  throw new Error('expected a CollectorError');
}

/** What STORAGE_COMMAND prints on a host with md arrays, ZFS and btrfs. */
function storageOutput(parts: { mdstat: string; zpoolList: string; zpoolStatus: string; btrfs: string }): string {
  return `@@ip:mdstat\n${parts.mdstat}@@ip:zpool-list 0\n${parts.zpoolList}@@ip:zpool-status\n${parts.zpoolStatus}@@ip:rc 0\n@@ip:btrfs\n${parts.btrfs}@@ip:end\n`;
}

const NOTHING = '@@ip:mdstat\n@@ip:no-mdstat\n@@ip:no-zpool\n@@ip:btrfs\n@@ip:no-btrfs\n@@ip:end\n';

describe('storage collector', () => {
  it('reads md arrays, ZFS pools with their vdev tree and btrfs filesystems from one exec', async () => {
    const r = runner({
      stdout: storageOutput({
        mdstat: caseInput('mdstat', 'raid5-spare-raid1-recovery-written'),
        zpoolList: caseInput('zpool-list', 'command-two-pools-written'),
        zpoolStatus: caseInput('zpool-status', 'resilver-replacing-spares-special-written'),
        btrfs: caseInput('btrfs-device-stats', 'command-two-filesystems'),
      }),
    });
    const res = await collectors.storage.collect(ctx(r));
    expect(r.commands).toEqual([STORAGE_COMMAND]);
    expect(res.problems).toEqual([]);
    const byName = new Map(res.batch.pools.map((p) => [`${p.kind} ${p.name}`, p]));
    expect([...byName.keys()].sort()).toEqual(['BTRFS /tmp/parsers-btrfs/mnt', 'BTRFS /tmp/parsers-btrfs/mnt two', 'MDRAID md0', 'MDRAID md1', 'ZFS backup', 'ZFS tank']);
    const tank = byName.get('ZFS tank')!;
    // Counted by hand: raidz2-0's leaves sda sdb sdc sdh sdd sde sdg, special's two, the log: 10, 8 ONLINE; sdc's 12/81.
    expect(tank).toMatchObject({ state: 'DEGRADED', health: 'WARNING', sizeBytes: 23991808278528, capPercent: 44, fragPercent: 9, totalDevices: 10, activeDevices: 8, readErrors: 12, writeErrors: 81, cksumErrors: 0, scanKind: 'resilver', scanInProgress: true, scanPercent: 11.1, errors: "2 data errors, use '-v' for a list" });
    const tree = tank.devices as { devices: { name: string; devices: { name: string; state: string }[] }[] };
    expect(tree.devices[0]!.name).toBe('raidz2-0');
    expect(tree.devices[0]!.devices.find((d) => d.name === 'replacing-2')).toMatchObject({ state: 'DEGRADED' });
    // Listed but absent from the status output: capacity without a tree.
    expect(byName.get('ZFS backup')).toMatchObject({ state: 'ONLINE', health: 'HEALTHY', totalDevices: null, devices: null });
    expect(byName.get('MDRAID md0')).toMatchObject({ state: 'DEGRADED', health: 'WARNING', level: 'raid1', totalDevices: 2, activeDevices: 1, scanKind: 'recovery', scanInProgress: true, scanPercent: 22.4 });
    expect(byName.get('MDRAID md1')).toMatchObject({ state: 'ONLINE', health: 'HEALTHY', level: 'raid5', totalDevices: 3, activeDevices: 3, scanKind: null, scanInProgress: false });
    expect(byName.get('BTRFS /tmp/parsers-btrfs/mnt')).toMatchObject({ state: 'ONLINE', health: 'WARNING', totalDevices: 2, readErrors: 0, writeErrors: 0, cksumErrors: 3 });
    expect(byName.get('BTRFS /tmp/parsers-btrfs/mnt two')).toMatchObject({ health: 'HEALTHY', cksumErrors: 0 });
  });

  it('builds each kind of pool row on one hidden class, poll after poll (a literal beginning with a spread built one per row)', () => {
    const parsed = parseStorageOutput(
      storageOutput({
        mdstat: caseInput('mdstat', 'raid5-spare-raid1-recovery-written'),
        zpoolList: caseInput('zpool-list', 'command-two-pools-written'),
        zpoolStatus: caseInput('zpool-status', 'resilver-replacing-spares-special-written'),
        btrfs: caseInput('btrfs-device-stats', 'command-two-filesystems'),
      }),
    );
    const polls = Array.from({ length: 30 }, (_, i) => storageRows(parsed, 'd', new Date(T.getTime() + i * 60_000))).slice(20);
    for (const kind of ['ZFS', 'MDRAID', 'BTRFS']) {
      const rows = polls.flat().filter((r) => r.kind === kind);
      expect(rows, kind).toHaveLength(20);
      expect(hiddenClassCount(rows), kind).toBe(1);
    }
  });

  corpusIt('shared corpus: a degraded raid5 (3 of 4) and a mirror with a removed device', () => {
    const parsed = parseStorageOutput(
      storageOutput({
        mdstat: fixture('mdstat/raid5-degraded-3of4-telegraf'),
        zpoolList: 'dummy\tDEGRADED\t1000\t100\t900\t1\t10\t1.00\n',
        zpoolStatus: fixture('zpool-status/degraded-removed-device-zse'),
        btrfs: '@@ip:no-btrfs\n',
      }),
    );
    const rows = storageRows(parsed, 'd', T);
    expect(rows.find((p) => p.kind === 'MDRAID')).toMatchObject({ name: 'md0', level: 'raid5', state: 'DEGRADED', totalDevices: 4, activeDevices: 3 });
    expect(rows.find((p) => p.kind === 'ZFS')).toMatchObject({ name: 'dummy', state: 'DEGRADED', health: 'WARNING', totalDevices: 2, activeDevices: 1, readErrors: 0 });
  });

  it('a host with no md, no zpool and no btrfs: UNAVAILABLE (NO_DEVICES), naming each part', async () => {
    const err = await collectorError(collectors.storage.collect(ctx(runner({ stdout: NOTHING }))));
    expect(err.reason).toBe('NO_DEVICES');
    expect(UNAVAILABLE_REASONS.has(err.reason)).toBe(true);
    expect(err.message).toMatch(/no \/proc\/mdstat.*zpool not installed/);
  });

  it('zpool refused for want of privileges with nothing else to read: PERMISSION_DENIED, pointing at sudoers', async () => {
    const out = '@@ip:mdstat\nPersonalities : \nunused devices: <none>\n@@ip:zpool-list 1\nsudo: a password is required\n@@ip:zpool-status\nsudo: a password is required\n@@ip:rc 1\n@@ip:btrfs\n@@ip:no-btrfs\n@@ip:end\n';
    const err = await collectorError(collectors.storage.collect(ctx(runner({ stdout: out }))));
    expect(err.reason).toBe('PERMISSION_DENIED');
    expect(err.message).toMatch(/sudoers/);
  });

  it('btrfs device stats as an ordinary user is not a fault; an md array beside it is still read', async () => {
    const out = `@@ip:mdstat\n${caseInput('mdstat', 'raid5-spare-raid1-recovery-written')}@@ip:no-zpool\n@@ip:btrfs\n@@ip:fs /\nERROR: getting device info for / failed: Operation not permitted\n@@ip:end\n`;
    const res = await collectors.storage.collect(ctx(runner({ stdout: out })));
    expect(res.problems).toEqual([]);
    expect(res.batch.pools.map((p) => p.name)).toEqual(['md1', 'md0']);
  });

  it('a zpool that fails otherwise, or output cut short, is a problem (FAILING), not UNAVAILABLE', async () => {
    const out = `@@ip:mdstat\n${caseInput('mdstat', 'raid5-spare-raid1-recovery-written')}@@ip:zpool-list 1\ninternal error: out of memory\n@@ip:zpool-status\n@@ip:rc 1\n@@ip:btrfs\n@@ip:no-btrfs\n`;
    const res = await collectors.storage.collect(ctx(runner({ stdout: out })));
    expect(res.problems).toEqual(['zpool list exited 1: internal error: out of memory', 'storage output was cut short']);
  });

  it('health: one rule for every kind', () => {
    expect(poolHealth('ONLINE', 0, false)).toBe('HEALTHY');
    expect(poolHealth('ONLINE', 1, false)).toBe('WARNING');
    expect(poolHealth('ONLINE', 0, true)).toBe('WARNING');
    expect(poolHealth('DEGRADED', 0, false)).toBe('WARNING');
    for (const s of ['FAULTED', 'UNAVAIL', 'REMOVED', 'SUSPENDED'] as const) expect(poolHealth(s, 0, false)).toBe('CRITICAL');
    expect(poolHealth('UNKNOWN', 0, false)).toBe('UNKNOWN');
  });
});

describe('sensors collector', () => {
  it('one row per temperature and fan with its status against the chip\'s thresholds', async () => {
    const r = runner({ stdout: caseInput('hwmon', 'command-dump-of-coretemp-nct6798-nvme') });
    const res = await collectors.sensors.collect(ctx(r));
    expect(r.commands).toEqual([HWMON_COMMAND]);
    const pkg = res.batch.sensors.find((s) => s.sensor === 'hwmon0/temp1')!;
    expect(pkg).toMatchObject({ chip: 'coretemp', kind: 'TEMPERATURE', label: 'Package id 0', value: 48, max: 80, crit: 100, min: null, status: 'OK' });
    // fan1 reads 0 RPM against a minimum of 300: a stopped fan.
    expect(res.batch.sensors.find((s) => s.sensor === 'hwmon1/fan1')).toMatchObject({ chip: 'nct6798', kind: 'FAN', value: 0, min: 300, status: 'STOPPED' });
    expect(res.batch.sensors.find((s) => s.sensor === 'hwmon1/fan2')).toMatchObject({ value: 1245, status: 'OK' });
  });

  it('status rules', () => {
    expect(temperatureStatus({ celsius: 79.9, maxCelsius: 80, critCelsius: 100 })).toBe('OK');
    expect(temperatureStatus({ celsius: 80, maxCelsius: 80, critCelsius: 100 })).toBe('HIGH');
    expect(temperatureStatus({ celsius: 100, maxCelsius: 80, critCelsius: 100 })).toBe('CRITICAL');
    expect(temperatureStatus({ celsius: 120, maxCelsius: null, critCelsius: null })).toBe('OK');
    expect(temperatureStatus({ celsius: null, maxCelsius: 80, critCelsius: 100 })).toBe('UNKNOWN');
    expect(fanStatus({ rpm: 0, minRpm: null })).toBe('STOPPED');
    expect(fanStatus({ rpm: 250, minRpm: 300 })).toBe('LOW');
    expect(fanStatus({ rpm: 250, minRpm: 0 })).toBe('OK');
  });

  it('no hwmon class, or chips without sensors: UNAVAILABLE', async () => {
    expect((await collectorError(collectors.sensors.collect(ctx(runner({ stdout: '@@ip:no-hwmon\n' }))))).reason).toBe('NOT_INSTALLED');
    expect((await collectorError(collectors.sensors.collect(ctx(runner({ stdout: 'hwmon0/name:acpitz\n' }))))).reason).toBe('NO_DEVICES');
  });
});

describe('gpu collector', () => {
  it('reads every GPU; N/A and unsupported values are null, never 0', async () => {
    const r = runner({ stdout: `${caseInput('nvidia-smi', 'command-noheader-nounits-written')}@@ip:rc 0\n` });
    const res = await collectors.gpu.collect(ctx(r));
    expect(r.commands).toEqual([GPU_COMMAND]);
    expect(res.batch.gpus).toHaveLength(3);
    expect(res.batch.gpus[0]).toMatchObject({ gpu: 'GPU-1f0b7c2e-5a7d-4c3e-9b1a-2d6e8f0a4b11', gpuIndex: 0, name: 'NVIDIA GeForce RTX 3090', temperatureC: 67, utilizationPercent: 98, memoryUsedBytes: 18321 * 2 ** 20, memoryTotalBytes: 24576 * 2 ** 20, powerDrawWatts: 341.52, powerLimitWatts: 350, fanPercent: 72 });
    expect(res.batch.gpus[1]!.fanPercent).toBeNull();
    expect(res.batch.gpus[2]).toMatchObject({ utilizationPercent: null, memoryUtilizationPercent: null, memoryUsedBytes: 4 * 2 ** 20 });
  });

  it('no nvidia-smi, no GPU, or no driver: UNAVAILABLE; a broken answer is not', async () => {
    const reason = async (res: Partial<ExecResult>) => (await collectorError(collectors.gpu.collect(ctx(runner(res))))).reason;
    expect(await reason({ stdout: '@@ip:no-nvidia-smi\n' })).toBe('NOT_INSTALLED');
    expect(await reason({ stdout: 'No devices were found\n@@ip:rc 6\n' })).toBe('NO_DEVICES');
    expect(await reason({ stdout: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n@@ip:rc 9\n" })).toBe('DAEMON_DOWN');
    expect(await reason({ stdout: '', stderr: 'sh: 1: PATH=...: not found\n', code: 127 })).toBe('NOT_INSTALLED');
    expect(await reason({ stdout: 'Segmentation fault\n@@ip:rc 139\n' })).toBe('COMMAND_FAILED');
  });
});
