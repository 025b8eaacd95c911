// The simulator's storage, sensors and GPU answers: every host's output reads cleanly through the
// real collectors' parsers at every point of the fault cycle, host 1 has every kind of hardware,
// VMs have none, and each fault appears inside its window only.
import { describe, expect, it } from 'vitest';
import { GPU_COMMAND } from '../../../src/collectors/gpu-collector.ts';
import { parseNvidiaSmi } from '../../../src/collectors/gpu.ts';
import { parseStorageOutput, storageRows, STORAGE_COMMAND } from '../../../src/collectors/pools.ts';
import { sensorRows } from '../../../src/collectors/sensor-collector.ts';
import { HWMON_COMMAND, parseHwmonDump } from '../../../src/collectors/sensors.ts';
import { classifyCommand, runCommand } from '../../../src/simulator/commands.ts';
import { buildHostProfile } from '../../../src/simulator/profile.ts';
import { FAULT_CYCLE_S, hardwareFaults, hardwareOf } from '../../../src/simulator/render-hardware.ts';

const START = Date.UTC(2026, 11, 1);

describe('simulated storage and hardware health', () => {
  it('the collectors\' commands are recognised, and host 1 answers each fault in its window only', () => {
    expect([STORAGE_COMMAND, HWMON_COMMAND, GPU_COMMAND].map(classifyCommand)).toEqual(['storage', 'sensors', 'gpu']);
    const h = buildHostProfile(1, { devices: 10, seed: 3 });
    const seen = new Set<string>();
    for (let s = 0; s < FAULT_CYCLE_S; s += 30) {
      const t = { nowMs: START + s * 1000, startMs: START };
      const f = hardwareFaults(h, t);
      const pools = storageRows(parseStorageOutput(runCommand(h, STORAGE_COMMAND, t).stdout), 'd', new Date(t.nowMs));
      const sensors = sensorRows(parseHwmonDump(runCommand(h, HWMON_COMMAND, t).stdout).chips, 'd', new Date(t.nowMs));
      const gpu = parseNvidiaSmi(runCommand(h, GPU_COMMAND, t).stdout.replace(/@@ip:rc \d+\n/, '')).gpus[0]!;
      const zfs = pools.find((p) => p.kind === 'ZFS')!;
      const md = pools.find((p) => p.kind === 'MDRAID')!;
      expect(zfs.state).toBe(f.diskLost ? 'DEGRADED' : 'ONLINE');
      expect(md.state).toBe(f.diskLost || f.resilverPercent !== null ? 'DEGRADED' : 'ONLINE');
      expect(zfs.scanInProgress).toBe(f.resilverPercent !== null);
      expect(sensors.find((r) => r.sensor === 'hwmon1/fan2')!.status).toBe(f.fanStopped ? 'STOPPED' : 'OK');
      expect(sensors.every((r) => r.sensor === 'hwmon1/fan2' || r.status === 'OK')).toBe(true);
      expect(gpu.temperatureC).toBe(f.gpuHot ? 93 : 46);
      for (const [k, v] of Object.entries(f)) if (v !== false && v !== null) seen.add(k);
    }
    // Each fault happens within a cycle, and clears (checked above: the state follows the window).
    expect([...seen].sort()).toEqual(['diskLost', 'fanStopped', 'gpuHot', 'resilverPercent']);
  });

  it('hosts without the hardware say so the way real ones do', () => {
    let vms = 0;
    for (let i = 1; i <= 40; i++) {
      const h = buildHostProfile(i, { devices: 40, seed: 9 });
      const hw = hardwareOf(h);
      const t = { nowMs: START, startMs: START };
      const storage = parseStorageOutput(runCommand(h, STORAGE_COMMAND, t).stdout);
      expect(storage.problems).toEqual([]);
      expect(storage.complete).toBe(true);
      expect(storageRows(storage, 'd', new Date(START)).length).toBe((hw.zfs ? 1 : 0) + (hw.md ? 1 : 0));
      expect(runCommand(h, HWMON_COMMAND, t).stdout.includes('@@ip:no-hwmon')).toBe(!hw.sensors);
      expect(runCommand(h, GPU_COMMAND, t).stdout.includes('@@ip:no-nvidia-smi')).toBe(!hw.gpu);
      if (h.virtual && i !== 1) {
        vms++;
        expect(hw).toMatchObject({ zfs: false, md: false, sensors: false, gpu: false });
      }
    }
    expect(vms).toBeGreaterThan(0);
  });
});
