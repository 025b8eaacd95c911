/**
 * The check runner's schedule (src/poller/checks.ts) on a clock of the test's own: each
 * check+device runs at its stable phase slot, a created check runs at once, a pair never
 * overlaps itself, devices out of scope or switched off never run it, the cap holds, and only
 * status changes are published. The host is the seam here (execOn answers as the test says);
 * the database is real.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Check } from '../../../src/db/index.ts';
import { createEventBus, type CheckResultEvent } from '../../../src/events/index.ts';
import { createLogger } from '../../../src/log.ts';
import { checkPhaseMs, createCheckRunner, type CheckRunner } from '../../../src/poller/checks.ts';
import { newRuntime, type DeviceRuntime } from '../../../src/poller/poll-device.ts';
import { nextSlot } from '../../../src/poller/scheduler.ts';
import type { ExecResult } from '../../../src/transport/types.ts';
import { TransportError } from '../../../src/transport/types.ts';
import type { NamedCheckResult } from '../../../src/storage/checks.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { hiddenClassCount } from '../../helpers/hidden-classes.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.close());

interface Call {
  deviceId: string;
  command: string;
  timeoutMs?: number;
  maxOutputBytes?: number;
  answer(r: ExecResult | TransportError): void;
}

async function fixture(options: { maxConcurrent?: number } = {}) {
  const suffix = Math.random().toString(36).slice(2, 8);
  // The runner reads every check in the database: each test starts with none.
  await db.prisma.check.deleteMany();
  const runtimes = new Map<string, DeviceRuntime>();
  for (const [name, tags, monitoringEnabled] of [['web1', ['web'], true], ['db1', ['db'], true], ['web-off', ['web'], false]] as const) {
    const row = await db.prisma.device.create({ data: { name: `${name}-${suffix}`, hostname: 'h', tags: [...tags], monitoringEnabled } });
    runtimes.set(row.id, newRuntime({ ...row, credential: null }));
  }
  const ids = [...runtimes.keys()];
  let clock = Date.UTC(2026, 11, 3, 0, 0, 0);
  const calls: Call[] = [];
  const events = createEventBus();
  const published: CheckResultEvent[] = [];
  events.listen('checkResultChanged', (e) => published.push(e));
  const results: NamedCheckResult[] = [];
  const runner: CheckRunner = createCheckRunner({
    prisma: db.prisma,
    log: createLogger('silent'),
    events,
    runtimes,
    maxConcurrent: options.maxConcurrent ?? 10,
    now: () => clock,
    onResults: (rows) => results.push(...rows),
    execOn: (deviceId, command, opts) =>
      new Promise<ExecResult>((resolve, reject) => {
        calls.push({ deviceId, command, ...opts, answer: (r) => (r instanceof TransportError ? reject(r) : resolve(r)) });
      }),
  });
  const check = (name: string, data: Partial<Omit<Check, 'builtin'>> = {}) => db.prisma.check.create({ data: { name: `${name}-${suffix}`, command: 'check_backup --max-age 26h', intervalSeconds: 60, tags: ['web'], ...data } });
  return { runner, runtimes, ids, calls, published, results, check, setClock: (t: number) => void (clock = t), clock: () => clock };
}

const settle = () => new Promise((r) => setTimeout(r, 30));
const stored = async (checkId: string) => (await db.pool.query<{ status: string }>('SELECT status FROM check_results WHERE check_id = $1 ORDER BY time', [checkId])).rows.map((r) => r.status);

describe('check runner', () => {
  test('runs at each device\'s phase slot, only on devices in scope with monitoring on, the command as stored', async () => {
    const f = await fixture();
    const c = await f.check('phase');
    await f.runner.reload();
    const web1 = f.ids[0]!;
    const slot = nextSlot(f.clock(), 60_000, checkPhaseMs(web1, c.id, 60_000));
    f.runner.tick();
    await settle();
    expect(f.calls).toHaveLength(slot === f.clock() ? 1 : 0);
    f.setClock(slot - 1);
    f.runner.tick();
    await settle();
    expect(f.calls).toHaveLength(0);
    f.setClock(slot);
    f.runner.tick();
    await settle();
    expect(f.calls.map((x) => [x.deviceId, x.command, x.timeoutMs, x.maxOutputBytes])).toEqual([[web1, 'check_backup --max-age 26h', 10_000, 64 * 1024]]);
    expect(f.runner.stats()).toMatchObject({ checks: 1, pairs: 1, inFlight: 1, runs: 0 });
    f.calls[0]!.answer({ stdout: 'OK\n', stderr: '', code: 0 });
    await f.runner.stop();
    expect(f.runner.stats()).toMatchObject({ inFlight: 0, runs: 1 });
    expect(await stored(c.id)).toEqual(['OK']);
  });

  test('builds every result row on one hidden class (a spread copy with fields added built a new one per run, in the old generation)', async () => {
    const f = await fixture();
    const c = await f.check('classes', { tags: [], deviceIds: [] });
    await f.runner.reload(c.id);
    for (let round = 0; round < 12; round++) {
      f.runner.tick();
      await settle();
      for (const x of f.calls.splice(0)) x.answer({ stdout: 'OK: fresh\n', stderr: '', code: 0 });
      await settle();
      f.setClock(f.clock() + 60_000);
    }
    await f.runner.stop();
    expect(f.results).toHaveLength(24);
    expect(hiddenClassCount(f.results)).toBe(1);
  });

  test('a check created through the API runs at once; a pair still running skips its slot; only changes are published', async () => {
    const f = await fixture();
    const c = await f.check('soon', { tags: [], deviceIds: [] });
    await f.runner.reload(c.id);
    f.runner.tick();
    await settle();
    // Every device with monitoring on (no scope: all), at once.
    expect(f.calls.map((x) => x.deviceId).sort()).toEqual([f.ids[0], f.ids[1]].sort());
    f.setClock(f.clock() + 120_000);
    f.runner.tick();
    await settle();
    expect(f.calls).toHaveLength(2);
    expect(f.runner.stats().skippedOverlaps).toBe(2);
    f.calls[0]!.answer({ stdout: 'CRITICAL: backup 30 h old\n', stderr: '', code: 2 });
    f.calls[1]!.answer(new TransportError('CONNECT', 'refused'));
    await settle();
    f.setClock(f.clock() + 60_000);
    f.runner.tick();
    await settle();
    const again = f.calls.slice(2);
    expect(again.map((x) => x.deviceId).sort()).toEqual([f.ids[0], f.ids[1]].sort());
    for (const x of again) x.answer(x.deviceId === f.calls[0]!.deviceId ? { stdout: 'CRITICAL: still\n', stderr: '', code: 2 } : new TransportError('TIMEOUT', 'late'));
    await f.runner.stop();
    // The unreachable host gave no result; the timeout did.
    expect(f.published.map((e) => [e.deviceId, e.previous, e.status])).toEqual([
      [f.calls[0]!.deviceId, null, 'CRITICAL'],
      [f.calls[1]!.deviceId, null, 'TIMEOUT'],
    ]);
    expect((await stored(c.id)).sort()).toEqual(['CRITICAL', 'CRITICAL', 'TIMEOUT']);
  });

  test('at most maxConcurrent checks run at once', async () => {
    const f = await fixture({ maxConcurrent: 1 });
    const c = await f.check('cap', { tags: [] });
    await f.runner.reload(c.id);
    f.runner.tick();
    await settle();
    await settle();
    expect(f.calls).toHaveLength(1);
    f.calls[0]!.answer({ stdout: 'OK\n', stderr: '', code: 0 });
    await settle();
    expect(f.calls).toHaveLength(2);
    f.calls[1]!.answer({ stdout: 'OK\n', stderr: '', code: 0 });
    await f.runner.stop();
    expect(await stored(c.id)).toEqual(['OK', 'OK']);
  });

  test('one check at a time per device: the others wait their turn, not on its SSH channels', async () => {
    const f = await fixture();
    const checks = await Promise.all(['one', 'two', 'three'].map((n) => f.check(n, { tags: [], deviceIds: [] })));
    for (const c of checks) await f.runner.reload(c.id);
    f.runner.tick();
    await settle();
    // Two devices in scope, three checks each: one running per device.
    expect(f.calls.map((x) => x.deviceId).sort()).toEqual([f.ids[0], f.ids[1]].sort());
    for (let round = 1; round <= 2; round++) {
      for (const x of f.calls.slice(-2)) x.answer({ stdout: 'OK\n', stderr: '', code: 0 });
      await settle();
      expect(f.calls).toHaveLength(2 + 2 * round);
    }
    for (const x of f.calls.slice(-2)) x.answer({ stdout: 'OK\n', stderr: '', code: 0 });
    await f.runner.stop();
    expect(f.calls.filter((x) => x.deviceId === f.ids[0])).toHaveLength(3);
    expect(f.runner.stats().runs).toBe(6);
  });

  test('pairs follow the scope: listed ids and tags join, a device that leaves it or goes and a deleted check are forgotten', async () => {
    const f = await fixture();
    const [web1, db1, webOff] = f.ids as [string, string, string];
    // db1 by id (among ids of no device), web1 by its tag; web-off is in scope but switched off.
    const byId = await f.check('by-id', { tags: [], deviceIds: ['nope-1', db1, 'nope-2'] });
    const byTag = await f.check('by-tag', { tags: ['web'], deviceIds: [] });
    await f.runner.reload(byId.id);
    await f.runner.reload(byTag.id);
    f.runner.tick();
    await settle();
    expect(f.calls.map((x) => `${x.deviceId} ${x.command}`).sort()).toEqual([`${db1} check_backup --max-age 26h`, `${web1} check_backup --max-age 26h`].sort());
    expect(f.runner.stats().pairs).toBe(2);
    for (const x of f.calls.splice(0)) x.answer({ stdout: 'OK\n', stderr: '', code: 0 });
    await settle();
    // web1 drops its tag, web-off is switched on (it has the tag), db1 goes from the poller.
    const rt = f.runtimes.get(web1)!;
    rt.device = { ...rt.device, tags: ['other'] };
    const off = f.runtimes.get(webOff)!;
    off.device = { ...off.device, monitoringEnabled: true };
    f.runtimes.delete(db1);
    // A new pair waits for its phase slot: two ticks a minute apart pass every device's slot.
    const ran = new Set<string>();
    for (let i = 0; i < 2; i++) {
      f.setClock(f.clock() + 60_000);
      f.runner.tick();
      await settle();
      expect(f.runner.stats().pairs).toBe(1);
      for (const x of f.calls.splice(0)) {
        ran.add(x.deviceId);
        x.answer({ stdout: 'OK\n', stderr: '', code: 0 });
      }
      await settle();
    }
    expect([...ran]).toEqual([webOff]);
    await db.prisma.check.delete({ where: { id: byTag.id } });
    await f.runner.reload();
    f.runner.tick();
    expect(f.runner.stats()).toMatchObject({ checks: 1, pairs: 0 });
    await f.runner.stop();
  });
});
