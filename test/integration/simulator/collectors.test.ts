// The real collectors, through the real SSH runner, against the simulator: what a poller sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { hostClock } from '../../../src/simulator/render-system.ts';
import { containerStates } from '../../../src/simulator/render-containers.ts';
import type { SshRunner } from '../../../src/transport/ssh.ts';
import { parseTopProcesses, rankProcesses, TOP_PROCESSES_COMMAND } from '../../../src/collectors/top-processes.ts';
import { manualClock, pollAll, runnerFor, type PollState } from './helpers.ts';

const clock = manualClock();
const START_MS = clock.now() - 3_600_000;
let sim: Simulator;
const runners: SshRunner[] = [];

beforeAll(async () => {
  sim = await startSimulator({ devices: 6, seed: 42, clock: clock.now, startMs: START_MS });
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.close()));
  await sim.stop();
});

describe('collectors against the simulator', () => {
  it('reads every host twice with plausible rows and no problems', async () => {
    const states = new Map<string, PollState>();
    const firstPolls = [];
    for (const h of sim.hosts) {
      const runner = runnerFor(sim, h.username);
      runners.push(runner);
      states.set(h.username, {});
      firstPolls.push(pollAll(runner, h.username, new Date(clock.now()), states.get(h.username)!));
    }
    const first = await Promise.all(firstPolls);
    for (const p of first) {
      expect(p.system.problems).toEqual([]);
      // No baseline yet: rates are unknown, gauges are there.
      expect(p.system.batch.system[0]!.cpuPercent).toBeNull();
      expect(p.system.batch.system[0]!.memUsedPercent).toBeGreaterThan(0);
    }

    clock.advance(30_000);
    const healths = new Set<string>();
    for (const [i, h] of sim.hosts.entries()) {
      const profile = sim.profile(h.username)!;
      const p = await pollAll(runners[i]!, h.username, new Date(clock.now()), states.get(h.username)!);

      expect(p.system.problems).toEqual([]);
      const row = p.system.batch.system[0]!;
      expect(row.cpuCount).toBe(h.cores);
      expect(row.cpuPercent).not.toBeNull();
      expect(row.cpuPercent!).toBeGreaterThan(0);
      expect(row.cpuPercent!).toBeLessThanOrEqual(100);
      expect(row.corePercents).toHaveLength(h.cores);
      expect(row.memTotalBytes).toBe(h.memTotalBytes);
      expect(row.memUsedPercent).toBeGreaterThan(1);
      expect(row.memUsedPercent).toBeLessThan(99);
      expect(row.load1).toBeGreaterThanOrEqual(0);
      expect(row.uptimeSeconds).toBeCloseTo(hostClock(profile, clock.now()).uptimeS, 1);
      expect(row.processCount).toBeGreaterThan(50);
      expect(row.netRxBytesPerSec).toBeGreaterThan(0);
      expect(row.diskWriteBytesPerSec).toBeGreaterThan(0);

      const mounts = p.system.batch.filesystems.map((f) => f.mount);
      expect(mounts).toContain('/');
      expect(mounts).toEqual(h.mounts);
      for (const f of p.system.batch.filesystems) {
        expect(f.usedPercent).toBeGreaterThan(0);
        expect(f.usedPercent).toBeLessThan(100);
      }
      expect(p.system.batch.networks.map((n) => n.interface)).toEqual(h.interfaces);
      for (const n of p.system.batch.networks) expect(n.rxBytesPerSec).toBeGreaterThanOrEqual(0);
      const disks = p.system.batch.diskIo.map((d) => d.disk);
      for (const d of profile.drives) expect(disks).toContain(d.blockName);
      for (const d of p.system.batch.diskIo) {
        expect(d.utilPercent).not.toBeNull();
        expect(d.utilPercent!).toBeLessThanOrEqual(100);
      }

      expect(p.drives.problems).toEqual([]);
      expect(p.drives.batch.drives.map((d) => d.drive)).toEqual(h.drives.map((d) => d.device));
      for (const [k, d] of p.drives.batch.drives.entries()) {
        const designed = h.drives[k]!;
        expect(d.health, `${h.username} ${d.drive}`).toBe(designed.expectedHealth);
        expect(d.protocol).toBe(designed.protocol);
        expect(d.model).toBe(designed.model);
        expect(d.serial).toBe(designed.serial);
        expect(d.temperatureC).toBeGreaterThan(15);
        expect(d.temperatureC).toBeLessThan(75);
        expect(d.powerOnHours).toBeGreaterThan(0);
        if (designed.fate === 'degrading') {
          expect((d.reallocatedSectors ?? 0) + (d.mediaErrors ?? 0)).toBeGreaterThan(0);
        }
        if (designed.fate === 'failing') expect(d.smartPassed).toBe(false);
        healths.add(d.health);
      }

      expect(p.containers.problems).toEqual([]);
      const rows = p.containers.batch.containers;
      const designed = containerStates(profile, clock.now(), START_MS);
      expect(rows.map((r) => [r.name, r.state, r.health, r.restartCount])).toEqual(
        designed.map((d) => [d.name, d.state, d.health, d.restarts]),
      );
      for (const r of rows) {
        expect(r.containerId).toMatch(/^[0-9a-f]{64}$/);
        expect(r.createdAt).toBeInstanceOf(Date);
        if (r.state === 'running') {
          expect(r.cpuPercent).not.toBeNull();
          expect(r.memUsageBytes).toBeGreaterThan(0);
          // docker prints "31.81GiB": four significant digits.
          expect(Math.abs(r.memLimitBytes! / h.memTotalBytes - 1)).toBeLessThan(0.001);
          expect(r.startedAt).toBeInstanceOf(Date);
        }
      }
    }
    // Seed 42's fleet, as designed: host-0001 carries a degrading drive; one host a failing one.
    expect(healths).toEqual(new Set(['HEALTHY', 'WARNING', 'CRITICAL']));
  });

  it('host-0001 is the showcase: restarting, unhealthy and exited containers, a restart count that grows', async () => {
    const runner = runnerFor(sim, 'host-0001');
    runners.push(runner);
    const state: PollState = {};
    const a = await pollAll(runner, 'host-0001', new Date(clock.now()), state);
    const states = a.containers.batch.containers.map((c) => c.state);
    expect(states).toContain('restarting');
    expect(states).toContain('exited');
    expect(a.containers.batch.containers.some((c) => c.health === 'unhealthy')).toBe(true);
    const restarting = a.containers.batch.containers.find((c) => c.state === 'restarting')!;
    clock.advance(600_000);
    const b = await pollAll(runner, 'host-0001', new Date(clock.now()), state);
    const again = b.containers.batch.containers.find((c) => c.containerId === restarting.containerId)!;
    expect(again.restartCount!).toBeGreaterThan(restarting.restartCount!);
    const warning = (poll: typeof a) => poll.drives.batch.drives.find((d) => d.health === 'WARNING')!;
    expect(warning(b).reallocatedSectors! + (warning(b).mediaErrors ?? 0)).toBeGreaterThanOrEqual(
      warning(a).reallocatedSectors! + (warning(a).mediaErrors ?? 0),
    );
  });

  it('answers the top-processes command: the processes add up to the host\'s CPU and memory use', async () => {
    for (const h of sim.hosts) {
      const runner = runnerFor(sim, h.username);
      runners.push(runner);
      const profile = sim.profile(h.username)!;
      const r = await runner.exec(TOP_PROCESSES_COMMAND);
      expect(r.code).toBe(0);
      const top = parseTopProcesses(r.stdout);
      expect(top).toMatchObject({ cpuBasis: 'INTERVAL', intervalSeconds: 0.5, skipped: [] });
      const u = hostClock(profile, clock.now()).uptimeS;
      const busyPercent = profile.coreBusy.reduce((s, w) => s + (w.integral(u + 0.5) - w.integral(u)) / 0.5, 0) * 100;
      const cpu = top.processes.reduce((s, p) => s + (p.cpuPercent ?? 0), 0);
      // Nine tenths of the busy time belong to the listed processes; ticks are whole, 2 % of one CPU over 0.5 s each.
      expect(Math.abs(cpu - busyPercent * 0.9)).toBeLessThanOrEqual(2 * top.processes.length);
      expect(cpu).toBeGreaterThan(0);
      const used = profile.memTotalKb * 1024 * profile.memUsed.at(u + 0.5);
      const rss = top.processes.reduce((s, p) => s + (p.memoryBytes ?? 0), 0);
      expect(rss / used).toBeGreaterThan(0.85);
      expect(rss / used).toBeLessThanOrEqual(0.9);
      expect(rankProcesses(top.processes, 'CPU', 1)[0]!.command).toBe('/usr/bin/python3 /opt/app/worker.py --queue default');
      const running = profile.containers.filter((c) => c.state === 'running').length;
      expect(top.processes.filter((p) => p.pid >= 2000)).toHaveLength(running);
      expect(top.processes.find((p) => p.pid === 48)).toMatchObject({ command: '[kworker/0:1-events]', state: 'I', memoryBytes: 0 });
      expect(rankProcesses(top.processes, 'IO', 1)[0]!.ioWriteBytesPerSecond).toBeGreaterThan(0);
    }
    expect(sim.stats().execs.processes).toBe(sim.hosts.length);
  });
});
