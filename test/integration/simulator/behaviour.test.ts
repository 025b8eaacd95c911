// Determinism, monotonic counters, reboots, unknown commands and credentials, concurrency.
import { afterAll, describe, expect, it } from 'vitest';
import { SYSTEM_COMMAND } from '../../../src/collectors/system.ts';
import { DRIVES_COMMAND } from '../../../src/collectors/drives.ts';
import { CONTAINERS_COMMAND } from '../../../src/collectors/containers.ts';
import { collectors, defaultCollectorOptions } from '../../../src/collectors/index.ts';
import { parseDiskstats, parseNetDev, parseProcStat, cpuTotal } from '../../../src/collectors/proc.ts';
import { parseSystemOutput } from '../../../src/collectors/system.ts';
import { buildHostProfile, startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { hostClock, renderSystem } from '../../../src/simulator/render-system.ts';
import { renderContainers } from '../../../src/simulator/render-containers.ts';
import { runCommand } from '../../../src/simulator/commands.ts';
import { TransportError } from '../../../src/transport/types.ts';
import type { SshRunner } from '../../../src/transport/ssh.ts';
import { manualClock, runnerFor } from './helpers.ts';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function sim(opts: Parameters<typeof startSimulator>[0]): Promise<Simulator> {
  const s = await startSimulator(opts);
  cleanup.push(() => s.stop());
  return s;
}
function runner(s: Simulator, username: string): SshRunner {
  const r = runnerFor(s, username);
  cleanup.push(() => r.close());
  return r;
}

/** Every cumulative counter of a system poll, keyed so two polls can be compared. */
function counters(output: string): Map<string, number> {
  const s = parseSystemOutput(output);
  const out = new Map<string, number>();
  const stat = parseProcStat(output.split('@@ip:stat\n')[1]!.split('@@ip:')[0]!);
  for (const c of [{ ...stat.total, cpu: -1 }, ...stat.cores]) {
    for (const k of ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const) out.set(`cpu${c.cpu}.${k}`, c[k]);
  }
  out.set('ctxt', stat.contextSwitches ?? -1);
  for (const i of parseNetDev(output.split('@@ip:netdev\n')[1]!.split('@@ip:')[0]!).interfaces) {
    for (const [k, v] of Object.entries(i)) if (typeof v === 'number') out.set(`net.${i.name}.${k}`, v);
  }
  for (const d of parseDiskstats(output.split('@@ip:diskstats\n')[1]!.split('@@ip:')[0]!).disks) {
    for (const k of ['readsCompleted', 'readBytes', 'writesCompleted', 'writeBytes', 'ioTimeMs', 'weightedIoTimeMs'] as const) out.set(`disk.${d.name}.${k}`, d[k]);
  }
  out.set('uptime', s.uptime.uptimeSeconds);
  return out;
}

describe('simulator behaviour', () => {
  it('answers byte for byte the same for the same seed and time, differently for another seed', async () => {
    const clock = manualClock();
    const opts = { devices: 4, clock: clock.now, startMs: clock.now() };
    const a = await sim({ ...opts, seed: 7 });
    const b = await sim({ ...opts, seed: 7 });
    const c = await sim({ ...opts, seed: 8 });
    expect(a.hosts).toEqual(b.hosts);
    expect(a.hosts).not.toEqual(c.hosts);
    for (const username of ['host-0001', 'host-0004']) {
      const [ra, rb, rc] = [runner(a, username), runner(b, username), runner(c, username)];
      for (const cmd of [SYSTEM_COMMAND, DRIVES_COMMAND, CONTAINERS_COMMAND]) {
        const [x, y, z] = await Promise.all([ra.exec(cmd), rb.exec(cmd), rc.exec(cmd)]);
        expect(x.code).toBe(0);
        expect(x.stdout.length).toBeGreaterThan(100);
        expect(y).toEqual(x);
        expect(z.stdout).not.toEqual(x.stdout);
      }
    }
    // Hosts of one fleet differ from each other too.
    expect(new Set(a.hosts.map((h) => JSON.stringify({ ...h, username: '', index: 0 }))).size).toBe(4);
  });

  it('keeps every counter monotonic between polls unless the host rebooted', () => {
    const t0 = Date.UTC(2026, 2, 1, 8, 0, 0);
    const problems: string[] = [];
    let checked = 0;
    let reboots = 0;
    for (let i = 1; i <= 120; i++) {
      const h = buildHostProfile(i, { devices: 120, seed: 3 });
      let prev = counters(renderSystem(h, t0));
      let prevBoot = hostClock(h, t0).bootS;
      let prevDt = 0;
      for (const dt of [0.25, 1, 30, 300, 3600, 86_400]) {
        const t = t0 + dt * 1000;
        const output = renderSystem(h, t);
        const next = counters(output);
        const boot = hostClock(h, t).bootS;
        if (boot !== prevBoot) {
          reboots++;
          if (next.get('uptime')! >= prev.get('uptime')!) problems.push(`${h.username}: rebooted but uptime grew`);
        } else {
          for (const [k, v] of next) {
            checked++;
            if (v < prev.get(k)!) problems.push(`${h.username} ${k} went from ${prev.get(k)} to ${v} after ${dt}s`);
          }
          const du = next.get('uptime')! - prev.get('uptime')!;
          if (Math.abs(du - (dt - prevDt)) > 0.011) problems.push(`${h.username}: uptime moved ${du}s in ${dt - prevDt}s`);
        }
        // Each core ticks USER_HZ jiffies per second of uptime, as the kernel's do.
        const stat = parseProcStat(output.split('@@ip:stat\n')[1]!.split('@@ip:')[0]!);
        for (const core of stat.cores) {
          if (Math.abs(cpuTotal(core) / 100 - hostClock(h, t).uptimeS) > 1) problems.push(`${h.username} cpu${core.cpu} jiffies off`);
        }
        prev = next;
        prevBoot = boot;
        prevDt = dt;
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(10_000);
    // Over a day most hosts do not reboot; a few may.
    expect(reboots).toBeLessThan(20);
  });

  it('prints container commands whole, as docker ps --no-trunc does: no "…" and nothing outside ASCII', () => {
    // A truncated command was not what the collector asks for, and its one "…" made the whole
    // batched answer of the poll a two-byte string in the poller (twice the bytes to decode, parse and copy).
    const t0 = Date.UTC(2026, 2, 1, 8, 0, 0);
    let commands = 0;
    for (let i = 1; i <= 200; i++) {
      const h = buildHostProfile(i, { devices: 200, seed: 5 });
      const output = renderContainers(h, t0, t0 - 3_600_000);
      expect(output).toMatch(/^[\x00-\x7f]*$/);
      for (const line of output.split('\n')) {
        if (!line.startsWith('{"Command"')) continue;
        const command = (JSON.parse(line) as { Command: string }).Command;
        commands++;
        expect(command).toMatch(/^".+"$/);
        expect(command).not.toContain('…');
      }
    }
    expect(commands).toBeGreaterThan(100);
  });

  it('the drives collector asks smartctl for compact JSON (--json=c) and gets one line per drive, as smartctl prints it', () => {
    const t0 = Date.UTC(2026, 2, 1, 8, 0, 0);
    let drives = 0;
    for (let i = 1; i <= 50; i++) {
      const h = buildHostProfile(i, { devices: 50, seed: 5 });
      const { stdout } = runCommand(h, DRIVES_COMMAND, { nowMs: t0, startMs: t0 - 3_600_000 });
      for (const section of stdout.split('@@ip:drive ').slice(1)) {
        const body = section.slice(section.indexOf('\n') + 1, section.indexOf('\n@@ip:rc'));
        expect(body.trim()).not.toContain('\n');
        expect((JSON.parse(body) as { smartctl: { argv: string[] } }).smartctl.argv).toContain('--json=c');
        drives++;
      }
    }
    expect(drives).toBeGreaterThan(40);
  });

  it('reboots a host on schedule: uptime and counters restart, btime moves, rates resume without going negative', async () => {
    const clock = manualClock();
    const s = await sim({ devices: 3, seed: 11, clock: clock.now });
    const h = s.profile('host-0002')!;
    // Just before the next scheduled boot.
    const nextBootS = hostClock(h, clock.now()).bootS + h.rebootEveryS;
    clock.set(nextBootS * 1000 - 20_000);
    const r = runner(s, 'host-0002');
    const ctx = { deviceId: 'd', runner: r, options: defaultCollectorOptions, timeoutMs: 10_000 };
    const before = await collectors.system.collect({ ...ctx, time: new Date(clock.now()), state: undefined });
    clock.advance(60_000);
    const after = await collectors.system.collect({ ...ctx, time: new Date(clock.now()), state: before.state });
    expect(after.batch.system[0]!.uptimeSeconds).toBeCloseTo(40, 0);
    expect(after.batch.system[0]!.cpuPercent).toBeNull();
    for (const n of after.batch.networks) expect(n.rxBytesPerSec).toBeNull();
    clock.advance(30_000);
    const later = await collectors.system.collect({ ...ctx, time: new Date(clock.now()), state: after.state });
    expect(later.batch.system[0]!.cpuPercent).toBeGreaterThan(0);
    for (const n of later.batch.networks) expect(n.rxBytesPerSec).toBeGreaterThanOrEqual(0);
    const btime = async () => /btime (\d+)/.exec((await r.exec('cat /proc/stat')).stdout)?.[1];
    expect(Number(await btime())).toBe(nextBootS);
  });

  it('answers unknown commands with 127 and refuses unknown users', async () => {
    const s = await sim({ devices: 2 });
    const r = runner(s, 'host-0002');
    const res = await r.exec('frobnicate --all');
    expect(res).toEqual({ stdout: '', stderr: 'sh: 1: frobnicate: not found\n', code: 127 });
    const load = await r.exec('cat /proc/loadavg');
    expect(load.stdout).toMatch(/^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+\n$/);
    expect((await r.exec('hostname')).stdout).toBe('host-0002\n');
    expect(s.stats().execs.unknown).toBe(1);

    expect(s.usernames).toEqual(['host-0001', 'host-0002']);
    expect(s.profile('host-0003')).toBeUndefined();
    expect(s.profile('host-2')).toBeUndefined();
    const stranger = runner(s, 'host-0003');
    const err = await stranger.exec('true').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).kind).toBe('AUTH');
  });

  it('serves 50 hosts over 50 concurrent connections', async () => {
    const s = await sim({ devices: 50, seed: 5 });
    const runners = s.hosts.map((h) => runner(s, h.username));
    const t = new Date();
    const results = await Promise.all(
      runners.map(async (r, i) => {
        const ctx = { deviceId: `d${i}`, runner: r, options: defaultCollectorOptions, timeoutMs: 20_000 };
        const [sys, drives, cont] = await Promise.all([
          collectors.system.collect({ ...ctx, time: t, state: undefined }),
          collectors.drives.collect({ ...ctx, time: t, state: undefined }),
          collectors.containers.collect({ ...ctx, time: t, state: undefined }),
        ]);
        return { sys, drives, cont };
      }),
    );
    expect(s.stats().connections).toBe(50);
    expect(s.stats().execs).toMatchObject({ system: 50, drives: 50, containers: 50, unknown: 0 });
    results.forEach((r, i) => {
      const h = s.hosts[i]!;
      expect(r.sys.problems).toEqual([]);
      expect(r.sys.batch.system[0]!.cpuCount).toBe(h.cores);
      expect(r.drives.batch.drives.map((d) => d.health)).toEqual(h.drives.map((d) => d.expectedHealth));
      expect(r.cont.batch.containers.map((c) => c.state)).toEqual(h.containers.map((c) => c.state));
    });
    // A realistic mix across the fleet.
    const states = new Set(s.hosts.flatMap((h) => h.containers.map((c) => c.state)));
    expect(states).toContain('running');
    expect(states).toContain('restarting');
    expect(s.hosts.some((h) => h.containers.length === 0)).toBe(true);
    expect(new Set(s.hosts.flatMap((h) => h.drives.map((d) => d.protocol)))).toEqual(new Set(['ATA', 'NVMe']));
    expect(s.hosts.flatMap((h) => h.drives).filter((d) => d.fate === 'failing')).toHaveLength(1);
  });
});
