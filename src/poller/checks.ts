/**
 * Runs the checks (src/collectors/checks.ts) on the devices this instance polls, over the
 * connection their polls keep (Poller.execOn), beside the collectors' schedule rather than in it:
 *
 * - Each check+device has a stable phase inside the check's interval (FNV-1a of both ids, as the
 *   collectors' slots), so a fleet's checks are spread; a check created or changed through the
 *   API runs at once on its devices, then on its slots.
 * - A check+device never overlaps itself (a slot that finds it still running is skipped and
 *   counted). At most POLLING_MAX_CONCURRENT_DEVICES checks run at once, in slots of their own:
 *   a check that hangs until its timeout never holds a slot a device's poll waits for, and it
 *   never sits in the device's poll queue, so collectors never wait behind a check. One check
 *   at a time per device (CHECKS_PER_DEVICE), so a check holds at most one of the device's SSH
 *   channels and a poll's collectors keep the others.
 * - The command goes to the host exactly as stored; nothing (device name, hostname, tags) is
 *   ever added to it. Past its timeout the remote command is killed (SSH signal, then close)
 *   and the result is TIMEOUT; past CHECK_MAX_OUTPUT_BYTES it is killed too and the result is
 *   UNKNOWN, "TRUNCATED: …". A host that cannot be reached gives no result (the device's status
 *   says so already).
 * - Results are written to check_results in small batches; once committed, every result goes to
 *   `onResults` (the alert evaluator of this instance: CHECK_STATUS, CHECK_VALUE) and a result
 *   whose status differs from the pair's previous one (or its first) is published on
 *   `checkResultChanged`.
 */
import { CHECK_MAX_OUTPUT_BYTES, evaluateCheck, type CheckKind, type CheckStatus } from '../collectors/checks.ts';
import { inScope } from '../alerts/rules.ts';
import type { Check, PrismaClient } from '../db/generated/client.ts';
import type { EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import { createSemaphore, type Semaphore } from '../semaphore.ts';
import { latestCheckResults, writeCheckResults, type NamedCheckResult } from '../storage/checks.ts';
import { TransportError } from '../transport/types.ts';
import type { Poller } from './index.ts';
import type { DeviceRuntime } from './poll-device.ts';
import { nextSlot, stableHash } from './scheduler.ts';

/** How often due checks are looked for; check intervals are at least CHECK_LIMITS.intervalMin seconds. */
export const CHECK_TICK_MS = 1000;
/** Checks are re-read this often besides on `checksChanged` (a change made while Redis was away). */
const RELOAD_MS = 60_000;
/**
 * Checks running at once on one device. An SSH connection opens 4 session channels at a time
 * (transport/ssh.ts): with one of them a check's, a poll's three collectors still run together
 * even while a check hangs until its timeout.
 */
export const CHECKS_PER_DEVICE = 1;
/** Results wait at most this long to be written together. */
const FLUSH_MS = 250;

export type CheckDef = Pick<Check, 'id' | 'name' | 'command' | 'intervalSeconds' | 'timeoutSeconds' | 'deviceIds' | 'tags' | 'jsonPaths' | 'enabled'> & { kind: CheckKind };

export interface CheckRunnerOptions {
  prisma: PrismaClient;
  log: Logger;
  events: EventBus;
  runtimes: ReadonlyMap<string, DeviceRuntime>;
  execOn: Poller['execOn'];
  maxConcurrent: number;
  /** Every stored result with its check's name (the alert evaluator's onCheckResults). */
  onResults?: (rows: readonly NamedCheckResult[]) => void;
  now?: () => number;
}

export interface CheckRunnerStats {
  checks: number;
  pairs: number;
  inFlight: number;
  /** Runs ended since start (the command was sent). */
  runs: number;
  skippedOverlaps: number;
}

export interface CheckRunner {
  start(): Promise<void>;
  /**
   * Starts no more runs; resolves once the runs in flight ended and their results were
   * written. A run ends by its timeout or when the poller closes its connection (no result).
   */
  stop(): Promise<void>;
  /** Starts every due check+device; called by the timer, by tests directly. */
  tick(): void;
  /** Re-reads the checks; `soon`: that check runs at the next tick on each of its devices. */
  reload(soon?: string): Promise<void>;
  stats(): CheckRunnerStats;
}

interface Pair {
  checkId: string;
  deviceId: string;
  next: number;
  running: boolean;
  /** The latest stored status; undefined until read from the database, null when the pair never ran. */
  last: CheckStatus | null | undefined;
}

export const checkPhaseMs = (deviceId: string, checkId: string, intervalMs: number): number => stableHash(`${deviceId}\u0000check\u0000${checkId}`) % intervalMs;

/** What a run that did not complete says; undefined: no result (the host was not reached). */
function failedRun(err: unknown, check: CheckDef): { status: CheckStatus; message: string } | undefined {
  if (!(err instanceof TransportError)) throw err;
  if (err.kind === 'TIMEOUT') return { status: 'TIMEOUT', message: `TIMEOUT: the command ran past ${check.timeoutSeconds} s and was stopped` };
  if (err.kind === 'OUTPUT_LIMIT') return { status: 'UNKNOWN', message: `TRUNCATED: the command printed more than ${CHECK_MAX_OUTPUT_BYTES / 1024} KB and was stopped` };
  return undefined;
}

/** One run of a check on a device. `ran`: the command was sent (this instance polls the device, monitoring on); `row`: its result, none when the host was not reached. */
async function runCheck(execOn: Poller['execOn'], check: CheckDef, deviceId: string, time: Date, log: Logger): Promise<{ ran: boolean; row?: NamedCheckResult }> {
  const exec = execOn(deviceId, check.command, { timeoutMs: check.timeoutSeconds * 1000, maxOutputBytes: CHECK_MAX_OUTPUT_BYTES });
  if (!exec) return { ran: false };
  // The named fields first: a literal that begins with a spread takes properties added after it
  // onto a new hidden class each time (docs/benchmarks.md, "A hidden class per object").
  try {
    const result = await exec;
    return { ran: true, row: { time, deviceId, checkId: check.id, checkName: check.name, exitCode: result.code, ...evaluateCheck(check, result) } };
  } catch (err) {
    const failed = failedRun(err, check);
    if (failed) return { ran: true, row: { time, deviceId, checkId: check.id, checkName: check.name, exitCode: null, values: {}, ...failed } };
    log.debug({ deviceId, checkId: check.id, err: (err as Error).message }, 'check not run: host not reached');
    return { ran: true };
  }
}

/**
 * Results wait up to FLUSH_MS and are written together; once committed, each whose status
 * differs from its pair's previous one (read from the database the first time) is published.
 * A write that fails is logged and its results are lost (they are not spooled like samples).
 */
function createResultWriter(prisma: PrismaClient, log: Logger, events: EventBus, onResults?: CheckRunnerOptions['onResults']): { add(pair: Pair, row: NamedCheckResult): void; flush(): Promise<void> } {
  const pending: { pair: Pair; row: NamedCheckResult }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  async function commit(batch: { pair: Pair; row: NamedCheckResult }[]): Promise<void> {
    try {
      const unknown = batch.filter((b) => b.pair.last === undefined);
      if (unknown.length > 0) {
        const stored = await latestCheckResults(prisma, [...new Set(unknown.map((b) => b.pair.deviceId))], [...new Set(unknown.map((b) => b.pair.checkId))]);
        for (const b of unknown) b.pair.last = stored.find((s) => s.deviceId === b.pair.deviceId && s.checkId === b.pair.checkId)?.status ?? null;
      }
      await writeCheckResults(prisma, batch.map((b) => b.row));
    } catch (err) {
      log.warn({ rows: batch.length, err: (err as Error).message }, 'could not store check results');
      return;
    }
    onResults?.(batch.map((b) => b.row));
    for (const { pair, row: { checkName: _name, ...row } } of batch) {
      const previous = pair.last ?? null;
      pair.last = row.status;
      if (previous === row.status) continue;
      log.info({ deviceId: row.deviceId, checkId: row.checkId, previous, status: row.status, message: row.message }, 'check status changed');
      void events.publish('checkResultChanged', { ...row, previous, time: row.time.toISOString() });
    }
  }

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending.splice(0);
    if (batch.length > 0) flushing = flushing.then(() => commit(batch));
    return flushing;
  };

  return {
    add(pair, row) {
      pending.push({ pair, row });
      timer ??= setTimeout(() => void flush(), FLUSH_MS);
    },
    flush,
  };
}

/** Each check's pairs by device id. */
type Pairs = Map<string, Map<string, Pair>>;

/**
 * The check+device pairs due at `t` (each moved to its next slot), running ones included (the
 * caller skips those); pairs no longer in scope, and those of checks gone, are forgotten. `soon`:
 * checks due now. Runs every second over every check and device: nothing here allocates per pair
 * unless the pair is new or due.
 */
function takeDue(checks: ReadonlyMap<string, CheckDef>, runtimes: ReadonlyMap<string, DeviceRuntime>, pairs: Pairs, soon: ReadonlySet<string>, t: number): [Pair, CheckDef][] {
  const due: [Pair, CheckDef][] = [];
  for (const id of pairs.keys()) if (!checks.get(id)?.enabled) pairs.delete(id);
  for (const check of checks.values()) {
    if (!check.enabled) continue;
    const ms = check.intervalSeconds * 1000;
    const now = soon.has(check.id);
    let mine = pairs.get(check.id);
    if (!mine) pairs.set(check.id, (mine = new Map()));
    let inScopeCount = 0;
    for (const rt of runtimes.values()) {
      const device = rt.device;
      if (!device.monitoringEnabled || !inScope(check, device)) {
        mine.delete(device.id);
        continue;
      }
      inScopeCount++;
      let pair = mine.get(device.id);
      if (!pair) {
        pair = { checkId: check.id, deviceId: device.id, next: now ? t : nextSlot(t, ms, checkPhaseMs(device.id, check.id, ms)), running: false, last: undefined };
        mine.set(device.id, pair);
      } else if (now) pair.next = t;
      if (pair.next > t) continue;
      pair.next = nextSlot(t, ms, checkPhaseMs(device.id, check.id, ms));
      due.push([pair, check]);
    }
    // Devices the poller no longer has.
    if (mine.size > inScopeCount) for (const deviceId of mine.keys()) if (!runtimes.has(deviceId)) mine.delete(deviceId);
  }
  return due;
}

export function createCheckRunner(options: CheckRunnerOptions): CheckRunner {
  const { prisma, log, events, runtimes } = options;
  const now = options.now ?? Date.now;
  const slots = createSemaphore(Math.max(1, options.maxConcurrent));
  let checks = new Map<string, CheckDef>();
  const pairs: Pairs = new Map();
  const soon = new Set<string>();
  const running = new Set<Promise<void>>();
  const counts = { runs: 0, skippedOverlaps: 0 };
  const results = createResultWriter(prisma, log, events, options.onResults);
  let timers: NodeJS.Timeout[] = [];
  let unlisten: (() => void) | undefined;
  let started = false;
  let stopped = false;

  /** One check at a time per device, waiting in order: the others wait here, not on the device's SSH channels. */
  const deviceGates = new Map<string, Semaphore>();
  const gateOf = (deviceId: string): Semaphore => {
    let gate = deviceGates.get(deviceId);
    if (!gate) deviceGates.set(deviceId, (gate = createSemaphore(CHECKS_PER_DEVICE)));
    return gate;
  };

  async function run(pair: Pair, check: CheckDef): Promise<void> {
    const gate = gateOf(pair.deviceId);
    await gate.acquire();
    try {
      await slots.acquire();
      let done: Awaited<ReturnType<typeof runCheck>>;
      try {
        done = await runCheck(options.execOn, check, pair.deviceId, new Date(now()), log);
      } finally {
        slots.release();
      }
      if (done.ran) counts.runs++;
      if (done.row) results.add(pair, done.row);
    } finally {
      gate.release();
      if (gate.inUse === 0 && gate.waiting === 0) deviceGates.delete(pair.deviceId);
    }
  }

  const start = (pair: Pair, check: CheckDef): void => {
    pair.running = true;
    const p = run(pair, check)
      .catch((err: unknown) => log.error({ deviceId: pair.deviceId, checkId: check.id, err: (err as Error).message }, 'check failed unexpectedly'))
      .finally(() => {
        pair.running = false;
        running.delete(p);
      });
    running.add(p);
  };

  const runner: CheckRunner = {
    tick() {
      if (stopped) return;
      for (const [pair, check] of takeDue(checks, runtimes, pairs, soon, now())) {
        if (pair.running) counts.skippedOverlaps++;
        else start(pair, check);
      }
      soon.clear();
    },

    async reload(soonId) {
      const rows = await prisma.check.findMany({ where: { enabled: true } });
      checks = new Map(rows.map((c) => [c.id, c]));
      if (soonId) soon.add(soonId);
    },

    async start() {
      if (started || stopped) return;
      started = true;
      unlisten = events.listen('checksChanged', (e) => {
        runner.reload(e.soon ? e.checkId : undefined).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not reload checks'));
      });
      await runner.reload().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not load checks'));
      timers = [setInterval(() => runner.tick(), CHECK_TICK_MS), setInterval(() => void runner.reload().catch(() => undefined), RELOAD_MS)];
      for (const timer of timers) timer.unref();
    },

    async stop() {
      stopped = true;
      unlisten?.();
      for (const timer of timers) clearInterval(timer);
      timers = [];
      while (running.size > 0) await Promise.allSettled([...running]);
      await results.flush();
    },

    stats: () => ({ checks: checks.size, pairs: [...pairs.values()].reduce((n, m) => n + m.size, 0), inFlight: slots.inUse, runs: counts.runs, skippedOverlaps: counts.skippedOverlaps }),
  };
  return runner;
}
