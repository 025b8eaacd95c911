/**
 * One poll of one device: run the due collectors on the device's runner (concurrently, each
 * failing alone; their first commands go out as one script, transport/batch.ts), hand the rows to
 * the writer (which publishes the samples once they are committed: after-commit.ts), and once
 * they are committed publish the change events that compare with the previous poll; then decide
 * the status (status.ts), persist it and publish a transition once.
 * Never throws for anything a host can do: every fault ends in the returned outcome.
 */
import { randomBytes } from 'node:crypto';
import { collectors as registry, defaultCollectorOptions } from '../collectors/index.ts';
import { CollectorError, type Collector, type CollectorName } from '../collectors/types.ts';
import type { PrismaClient } from '../db/generated/client.ts';
import type { EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import { batchSize } from '../storage/index.ts';
import { emptyBatch, type ContainerRow, type DriveHealthRow, type SampleBatch } from '../storage/types.ts';
import { createExecBatch } from '../transport/batch.ts';
import { TransportError, type CommandRunner } from '../transport/types.ts';
import type { Connections, PollDevice } from './connections.ts';
import { nextCollectorState, readStates, writeStates, type CollectorRunState } from './collector-state.ts';
import { isUnreachable, nextStatus, type CollectorOutcome, type DeviceStatus } from './status.ts';
import type { StatusRow, StatusWriter } from './status-writer.ts';
import { mergeBatches, type Writer, type WriteResult } from './writer.ts';

/** What the poller remembers about a device between polls (memory only). */
export interface DeviceRuntime {
  device: PollDevice;
  status: DeviceStatus;
  consecutiveFailures: number;
  lastError: string | null;
  lastSeenWrittenAt: number;
  /** Latest outcome per collector: DEGRADED looks at every collector, not just this poll's. */
  latest: Map<CollectorName, CollectorOutcome>;
  /** Collector state (counters for rates) per collector. */
  states: Map<CollectorName, unknown>;
  /** OK / FAILING / UNAVAILABLE per collector that has run (collector-state.ts); persisted with the device. */
  collectors: Map<CollectorName, CollectorRunState>;
  /** A collector changed state since the device row was last written: the next write must happen. */
  collectorsChanged: boolean;
  /** Previous poll's container state/health and drive health; undefined until the first committed poll. */
  containers: Map<string, { state: string; health: string | null }> | undefined;
  drives: Map<string, string> | undefined;
  /** Previous storage poll's state/health per pool, and sensors poll's status per sensor (same baseline rule). */
  pools: Map<string, { state: string; health: string }> | undefined;
  sensors: Map<string, string> | undefined;
  /**
   * The device's status writes, one after another. A poll and a settings change (monitoring off
   * or on) decide statuses independently; written on two pool connections at once, their rows
   * could commit in the other order and the StatusChange chain (each row starting where the one
   * before ended) and the events' order would break.
   */
  statusWrites: Promise<void>;
}

export function newRuntime(device: PollDevice): DeviceRuntime {
  return {
    device,
    status: device.status,
    consecutiveFailures: device.consecutiveFailures,
    lastError: device.lastError,
    lastSeenWrittenAt: device.lastSeenAt?.getTime() ?? 0,
    latest: new Map(),
    states: new Map(),
    collectors: readStates(device.collectorStates),
    collectorsChanged: false,
    containers: undefined,
    drives: undefined,
    pools: undefined,
    sensors: undefined,
    statusWrites: Promise.resolve(),
  };
}

export interface PollOutcome {
  deviceId: string;
  /** The poll's timestamp: its rows carry it. */
  time: Date;
  collectors: CollectorName[];
  outcomes: CollectorOutcome[];
  previousStatus: DeviceStatus;
  status: DeviceStatus;
  /** Rows the poll produced. */
  rows: number;
  write: WriteResult | 'nothing';
  /**
   * `backoff`: the runner refused at once because its reconnect delay had not passed; no
   * attempt was made, so nothing was counted. `disabled`: monitoring is off. `lease`: this
   * instance's lease may have lapsed (renewal late) while other instances are alive.
   */
  skipped?: 'backoff' | 'disabled' | 'lease';
  /** The fingerprint a host presented when its key was refused. */
  presentedHostKey?: string;
  ms: number;
}

export interface PollContext {
  prisma: PrismaClient;
  events: EventBus;
  log: Logger;
  writer: Writer;
  statusWriter: StatusWriter;
  /** lastSeenAt is rewritten at most this often when nothing else changed (PollerTuning). */
  lastSeenEveryMs: number;
  connections: Connections;
  now: () => Date;
  execTimeoutMs: number;
  offlineAfter: number;
  observer?: PollObserver;
}

/** Instrumentation hooks (metrics); each is optional and must not throw. */
export interface PollObserver {
  /** One collector of one poll finished. */
  collectorDone?(collector: CollectorName, outcome: CollectorOutcome, seconds: number): void;
  /** One device poll finished (not called for polls skipped in backoff or while disabled). */
  pollDone?(outcome: PollOutcome): void;
}

function outcomeOf(collector: CollectorName, err: unknown, log: Logger, deviceId: string): { outcome: CollectorOutcome; error?: TransportError } {
  if (err instanceof TransportError) {
    return { outcome: { collector, kind: 'transport', error: err.kind, message: err.message }, error: err };
  }
  if (err instanceof CollectorError) {
    return { outcome: { collector, kind: 'collector', reason: err.reason, message: err.message } };
  }
  // Anything else is our bug (a parser that threw something unexpected); the device is not at fault.
  const message = err instanceof Error ? err.message : String(err);
  log.error({ deviceId, collector, err: message }, 'collector failed unexpectedly');
  return { outcome: { collector, kind: 'collector', reason: 'INTERNAL', message: `internal error: ${message}` } };
}

/** Collectors switched off for the device are never run, whoever asks. */
export const isEnabled = (device: PollDevice, name: CollectorName): boolean => !device.disabledCollectors.includes(name);

/** Moves each collector's state on; logs each change once (not every poll). Host not reached: nothing is learnt. */
function updateCollectorStates(ctx: PollContext, rt: DeviceRuntime, outcomes: CollectorOutcome[], time: Date): void {
  if (outcomes.every(isUnreachable)) return;
  for (const o of outcomes) {
    const previous = rt.collectors.get(o.collector);
    const next = nextCollectorState(previous, o, time);
    if (!next) continue;
    rt.collectors.set(o.collector, next);
    if (previous?.state === next.state) continue;
    rt.collectorsChanged = true;
    const fields = { deviceId: rt.device.id, collector: o.collector, previous: previous?.state ?? null, state: next.state, reason: next.reason };
    if (next.state === 'FAILING') ctx.log.warn(fields, 'collector failing');
    else if (next.state === 'UNAVAILABLE') ctx.log.warn(fields, 'collector not available on this host (tried again hourly)');
    else if (previous) ctx.log.info(fields, 'collector ok again');
    else ctx.log.debug(fields, 'collector ok');
  }
}

/** One collector of one poll; never throws: a fault is its outcome. */
async function runCollector(
  ctx: PollContext,
  rt: DeviceRuntime,
  name: CollectorName,
  runner: CommandRunner,
  time: Date,
): Promise<{ outcome: CollectorOutcome; batch?: SampleBatch; error?: TransportError }> {
  const deviceId = rt.device.id;
  const collector = registry[name] as unknown as Collector<unknown>;
  const t0 = performance.now();
  const done = (outcome: CollectorOutcome) => ctx.observer?.collectorDone?.(name, outcome, (performance.now() - t0) / 1000);
  try {
    const res = await collector.collect({
      deviceId,
      time,
      runner,
      options: { ...defaultCollectorOptions, sudoSmartctl: rt.device.sudoSmartctl },
      state: rt.states.get(name),
      timeoutMs: ctx.execTimeoutMs,
    });
    rt.states.set(name, res.state);
    // Lines a parser left out (old kernels, tool warnings): worth a look, not a failure.
    if (res.skipped?.length) ctx.log.debug({ deviceId, collector: name, skipped: res.skipped }, 'skipped unrecognised lines');
    const outcome: CollectorOutcome = { collector: name, kind: 'ok', problems: res.problems };
    done(outcome);
    return { outcome, batch: res.batch };
  } catch (err) {
    const r = outcomeOf(name, err, ctx.log, deviceId);
    done(r.outcome);
    return r;
  }
}

/** Poll ids: 8 hex digits counting up from a random start; a getrandom call per poll was 0.7 % of the poller's CPU at 1,000 devices. */
let pollSeq = randomBytes(4).readUInt32BE(0);
const nextPollId = (): string => (pollSeq = (pollSeq + 1) >>> 0).toString(16).padStart(8, '0');

/** `collected`: the device has answered (or failed to); its concurrency slot can go to the next device before the write. */
export async function pollDevice(parent: PollContext, rt: DeviceRuntime, requested: CollectorName[], collected?: () => void): Promise<PollOutcome> {
  const started = performance.now();
  const names = requested.filter((n) => isEnabled(rt.device, n));
  // Every line this poll logs carries its id, so one poll's story can be grepped out of many.
  const ctx: PollContext = { ...parent, log: parent.log.child({ pollId: nextPollId() }) };
  const device = rt.device;
  const deviceId = device.id;
  const previousStatus = rt.status;
  const time = ctx.now();
  // The poll's own fields first, the rest spread after them: a literal that begins with a spread
  // takes properties added after it onto a new hidden class each time (docs/benchmarks.md, "A
  // hidden class per object").
  const outcome = (rest: Omit<PollOutcome, 'deviceId' | 'time' | 'collectors' | 'previousStatus'>): PollOutcome => ({ deviceId, time, collectors: names, previousStatus, ...rest });

  if (!device.monitoringEnabled || names.length === 0) {
    return outcome({ outcomes: [], status: rt.status, rows: 0, write: 'nothing', skipped: 'disabled', ms: performance.now() - started });
  }

  const outcomes: CollectorOutcome[] = [];
  const batches: SampleBatch[] = [];
  let hostKeyError: TransportError | undefined;
  let attemptsBefore = 0;
  let attempted = true;
  try {
    const runner = ctx.connections.get(device);
    attemptsBefore = ctx.connections.attempts(deviceId);
    // The collectors' first commands go out as one script (transport/batch.ts), written to the shell the runner keeps open (ssh-shell.ts).
    const batch = createExecBatch(runner, names.length);
    const results = await Promise.all(names.map((name, i) => runCollector(ctx, rt, name, batch.runner(i), time).finally(() => batch.done(i))));
    for (const r of results) {
      outcomes.push(r.outcome);
      if ('batch' in r && r.batch) batches.push(r.batch);
      if ('error' in r && r.error?.kind === 'HOST_KEY') hostKeyError = r.error;
    }
    // An SSH runner in its backoff window fails at once without trying; that is not a new failure of the host.
    attempted = ctx.connections.state(deviceId) !== 'backoff' || ctx.connections.attempts(deviceId) !== attemptsBefore;
  } catch (err) {
    // The runner could not even be built (no username, undecryptable credential).
    for (const name of names) {
      const r = outcomeOf(name, err, ctx.log, deviceId);
      outcomes.push(r.outcome);
    }
  }

  collected?.();

  if (!attempted && outcomes.every(isUnreachable)) {
    return outcome({ outcomes, status: rt.status, rows: 0, write: 'nothing', skipped: 'backoff', ms: performance.now() - started });
  }

  // Write first: events must never announce rows a reader cannot see yet.
  const batch = batches.length > 0 ? mergeBatches(batches) : undefined;
  const rows = batch ? batchSize(batch) : 0;
  let write: WriteResult | 'nothing' = 'nothing';
  if (batch && rows > 0) write = await ctx.writer.write(batch);
  if (write === 'committed' || write === 'nothing') {
    const ok = new Set(outcomes.filter((o) => o.kind === 'ok').map((o) => o.collector));
    publishChanges(ctx, rt, batch ?? emptyBatch(), time, ok);
  }

  const others = [...rt.latest.values()].filter((o) => !names.includes(o.collector) && isEnabled(device, o.collector));
  for (const o of outcomes) rt.latest.set(o.collector, o);
  updateCollectorStates(ctx, rt, outcomes, time);
  const unavailable = new Set([...rt.collectors].filter(([, s]) => s.state === 'UNAVAILABLE').map(([n]) => n));
  const decision = nextStatus({
    previous: rt.status,
    consecutiveFailures: rt.consecutiveFailures,
    // The settings now, not those the poll began with: switched off while this poll waited on
    // the host or its write, the device is DISABLED, and this poll's verdict must not undo it.
    monitoringEnabled: rt.device.monitoringEnabled,
    poll: outcomes,
    others,
    offlineAfter: ctx.offlineAfter,
    unavailable,
  });
  await applyStatus(ctx, rt, decision, time, hostKeyError?.details.fingerprint);

  const ms = performance.now() - started;
  const failed = outcomes.filter((o) => o.kind !== 'ok');
  // Collector state changes and status transitions are logged once each where they happen; per poll, only debug.
  if (failed.length === 0) ctx.log.debug({ deviceId, collectors: names, rows, ms: Math.round(ms) }, 'poll ok');
  else ctx.log.debug({ deviceId, collectors: names, status: decision.status, failures: failed.map((o) => `${o.collector}: ${'message' in o ? o.message : ''}`) }, 'poll had failures');

  const result = outcome({
    outcomes,
    status: rt.status,
    rows,
    write,
    ...(hostKeyError?.details.fingerprint ? { presentedHostKey: hostKeyError.details.fingerprint } : {}),
    ms,
  });
  ctx.observer?.pollDone?.(result);
  return result;
}

interface Decision {
  status: DeviceStatus;
  consecutiveFailures: number;
  reason: string | null;
  lastError: string | null;
  seen: boolean;
}

/** Persists the device's poll state; a transition also gets a StatusChange row and exactly one event. */
export async function applyStatus(ctx: PollContext, rt: DeviceRuntime, d: Decision, time: Date, pendingHostKey?: string): Promise<void> {
  const deviceId = rt.device.id;
  const previous = rt.status;
  const changed = d.status !== previous;
  const seenStale = d.seen && time.getTime() - rt.lastSeenWrittenAt >= ctx.lastSeenEveryMs;
  const dirty = changed || seenStale || rt.collectorsChanged || d.consecutiveFailures !== rt.consecutiveFailures || d.lastError !== rt.lastError || pendingHostKey !== undefined;
  rt.status = d.status;
  rt.consecutiveFailures = d.consecutiveFailures;
  rt.lastError = d.lastError;
  // A new object only when something changed (settings arrive the same way, device-sync.ts): a
  // copy every poll lived one interval, was promoted by V8 and left to a full collection.
  const was = rt.device;
  if (was.status !== d.status || was.lastError !== d.lastError || was.consecutiveFailures !== d.consecutiveFailures || (pendingHostKey !== undefined && was.pendingHostKey !== pendingHostKey)) {
    rt.device = { ...was, status: d.status, lastError: d.lastError, consecutiveFailures: d.consecutiveFailures, ...(pendingHostKey ? { pendingHostKey } : {}) };
  }
  if (d.seen) rt.device.lastSeenAt = time;
  if (!dirty) return;
  if (d.seen) rt.lastSeenWrittenAt = time.getTime();
  rt.collectorsChanged = false;

  const row: StatusRow = {
    status: d.status,
    lastError: d.lastError,
    consecutiveFailures: d.consecutiveFailures,
    ...(d.seen ? { lastSeenAt: time } : {}),
    ...(pendingHostKey ? { pendingHostKey } : {}),
    // Rides along with every write (lastRunAt at most lastSeenEveryMs old); a state change forces one.
    collectorStates: writeStates(rt.collectors),
  };
  const change = changed ? { previous, current: d.status, reason: d.reason, at: time } : null;
  // Batched across devices, a transition's StatusChange row in the same statement (status-writer.ts).
  const write = rt.statusWrites.then(async () => {
    await ctx.statusWriter.write(deviceId, row, change);
    if (!change) return;
    ctx.log.info({ deviceId, previous: change.previous, current: change.current, reason: change.reason }, 'device status changed');
    void ctx.events.publish('deviceStatusChanged', { deviceId, ...change, at: change.at.toISOString() });
  });
  rt.statusWrites = write;
  await write;
}

const containerKey = (c: ContainerRow): string => c.containerId;
const driveKey = (d: DriveHealthRow): string => d.serial ?? d.drive;
const sameStateHealth = (a: { state: string; health: string | null }, b: { state: string; health: string | null }): boolean => a.state === b.state && a.health === b.health;
const sameString = (a: string, b: string): boolean => a === b;

/**
 * Compares this poll's items with what the previous successful poll left in `last` (key → the
 * compared value) and calls `changed` for each item that is new or differs; a first poll
 * (`last` undefined) only sets the baseline. The map is kept and updated in place, an entry
 * replaced only when it changed: a new map every poll lived one interval, was promoted by V8
 * and left to a full collection. Items gone from the poll leave the map.
 */
export function compareWithLast<T, V>(last: Map<string, V> | undefined, items: readonly T[], key: (t: T) => string, value: (t: T) => V, same: (a: V, b: V) => boolean, changed: (t: T, before: V | undefined) => void): Map<string, V> {
  const map = last ?? new Map<string, V>();
  const present = new Set<string>();
  for (const t of items) {
    const k = key(t);
    present.add(k);
    const before = map.get(k);
    const now = value(t);
    if (before !== undefined && same(before, now)) continue;
    if (last !== undefined) changed(t, before);
    map.set(k, now);
  }
  if (map.size > present.size) for (const k of map.keys()) if (!present.has(k)) map.delete(k);
  return map;
}

function publishChanges(ctx: PollContext, rt: DeviceRuntime, batch: SampleBatch, time: Date, ok: ReadonlySet<CollectorName>): void {
  const deviceId = rt.device.id;
  // Samples themselves (metricCollected and the other kinds) go out from the writer's after-commit hook (after-commit.ts, publish.ts).
  const at = time.toISOString();
  // Change events compare with the previous successful poll; the first one only sets the baseline.
  if (ok.has('containers')) {
    rt.containers = compareWithLast(rt.containers, batch.containers, containerKey, (c) => ({ state: c.state, health: c.health }), sameStateHealth, (c, prev) => {
      void ctx.events.publish('containerStateChanged', {
        deviceId,
        containerId: c.containerId,
        name: c.name,
        previousState: prev?.state ?? null,
        state: c.state,
        previousHealth: prev?.health ?? null,
        health: c.health,
        at,
      });
    });
  }
  if (ok.has('drives')) {
    rt.drives = compareWithLast(rt.drives, batch.drives, driveKey, (d) => d.health, sameString, (d, prev) => {
      void ctx.events.publish('driveHealthChanged', { deviceId, drive: d.drive, serial: d.serial, previous: prev ?? null, current: d.health, at });
    });
  }
  publishHardwareChanges(ctx, rt, batch, at, ok);
}

/** Pool/array state or health changes, and sensors crossing their chip's thresholds (or back). */
function publishHardwareChanges(ctx: PollContext, rt: DeviceRuntime, batch: SampleBatch, at: string, ok: ReadonlySet<CollectorName>): void {
  const deviceId = rt.device.id;
  if (ok.has('storage')) {
    rt.pools = compareWithLast(rt.pools, batch.pools, (p) => `${p.kind} ${p.name}`, (p) => ({ state: p.state, health: p.health }), sameStateHealth, (p, prev) => {
      void ctx.events.publish('poolStateChanged', { deviceId, kind: p.kind, name: p.name, previousState: prev?.state ?? null, state: p.state, previousHealth: prev?.health ?? null, health: p.health, at });
    });
  }
  if (ok.has('sensors')) {
    rt.sensors = compareWithLast(rt.sensors, batch.sensors, (r) => r.sensor, (r) => r.status, sameString, (r, prev) => {
      void ctx.events.publish('sensorStatusChanged', { deviceId, sensor: r.sensor, chip: r.chip, kind: r.kind, label: r.label, value: r.value, previous: prev ?? null, current: r.status, at });
    });
  }
}
