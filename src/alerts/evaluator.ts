/**
 * Alert evaluation off the write path: the poller hands each committed batch to
 * `onBatchWritten`, which only queues it; one worker evaluates queued batches and status
 * changes in order against the enabled rules (cached), persists every transition (so a restart
 * neither re-fires nor forgets), publishes `alertChanged`, and hands notifications to the
 * notifier unless a silence matches.
 */
import { isUniqueViolation, type Database, type PrismaClient } from '../db/index.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { DeviceStatusEvent, EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import type { SampleBatch } from '../storage/types.ts';
import type { NotificationEvent, NotificationMessage } from './message.ts';
import { createNotifier, type Notifier } from './notifiers.ts';
import {
  BUILTIN_RULES,
  describe,
  formatValue,
  inScope,
  metricFamily,
  observe,
  reportedSubjects,
  RestartHistory,
  step,
  type MetricFamily,
  type Observation,
  type RuleSpec,
  type Track,
} from './rules.ts';
import { loadSilences, silencedBy, type SilenceSpec } from './silences.ts';

export interface AlertEvaluatorDeps {
  db: Pick<Database, 'prisma'>;
  events: EventBus;
  log: Logger;
  secrets: SecretBox;
  /** Default: createNotifier over the same db/secrets/log. */
  notifier?: Notifier;
  /** For the default notifier: NOTIFY_ALLOW_PRIVATE_NETWORKS. */
  allowPrivateNetworks?: boolean;
  now?: () => Date;
  tuning?: Partial<EvaluatorTuning>;
}

export interface EvaluatorTuning {
  /** Re-evaluates open alerts without new samples (repeats, DEVICE_STATUS forSeconds); 0 = never. Default 10 s. */
  tickMs: number;
  /** Rules, devices and silences are reloaded at least this often (changes made elsewhere). Default 30 s. */
  refreshMs: number;
  /** Rows older than this (a spool replayed after an outage) are not evaluated. Default 15 min. */
  staleMs: number;
  /** Queued batches/events beyond this are dropped with a warning. Default 10,000. */
  maxQueue: number;
  /** Create the built-in rules at start when absent. Default true. */
  builtins: boolean;
  /** Follow `deviceStatusChanged` on the event bus. Default true. */
  subscribeToStatus: boolean;
}

export interface AlertEvaluator {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** For the poller's `onBatchWritten`: queues and returns at once. */
  onBatchWritten(batch: SampleBatch): void;
  /** A device status transition (already followed on the bus unless subscribeToStatus is false). */
  onStatusChange(evt: DeviceStatusEvent): void;
  /** Reloads rules, devices and silences now. */
  refresh(): Promise<void>;
  /** Resolves when the queue is empty and every notification was sent (tests). */
  idle(): Promise<void>;
  /** Runs the periodic re-evaluation now (tests with a fake clock). */
  tick(): Promise<void>;
  stats(): { rules: number; openAlerts: number; queued: number; evaluated: number; dropped: number };
}

interface DeviceInfo {
  id: string;
  name: string;
  tags: string[];
}

interface OpenAlert {
  alertId: string;
  ruleId: string;
  deviceId: string;
  subject: string;
  track: Track;
}

const key = (ruleId: string, deviceId: string, subject: string) => `${ruleId}\u0000${deviceId}\u0000${subject}`;

type RuleRow = Awaited<ReturnType<PrismaClient['alertRule']['findMany']>>[number];

export function toRuleSpec(r: RuleRow): RuleSpec {
  return {
    id: r.id,
    name: r.name,
    metric: r.metric,
    comparator: r.comparator,
    threshold: r.threshold,
    value: r.value,
    clearThreshold: r.clearThreshold,
    forSeconds: r.forSeconds,
    repeatSeconds: r.repeatSeconds,
    severity: r.severity,
    deviceIds: r.deviceIds,
    tags: r.tags,
    channelIds: r.channelIds,
    enabled: r.enabled,
    builtin: r.builtin,
  };
}

/** Creates the shipped rules that are absent (by name); ones a user edited or disabled stay as they are. */
export async function ensureBuiltinRules(prisma: PrismaClient): Promise<number> {
  const { count } = await prisma.alertRule.createMany({ data: BUILTIN_RULES.map((r) => ({ ...r, builtin: true, enabled: true })), skipDuplicates: true });
  return count;
}

export function createAlertEvaluator(deps: AlertEvaluatorDeps): AlertEvaluator {
  const { events, log } = deps;
  const prisma = deps.db.prisma;
  const now = deps.now ?? (() => new Date());
  const t: EvaluatorTuning = { tickMs: 10_000, refreshMs: 30_000, staleMs: 15 * 60_000, maxQueue: 10_000, builtins: true, subscribeToStatus: true, ...deps.tuning };
  const notifier = deps.notifier ?? createNotifier({ db: deps.db, secrets: deps.secrets, log, now, allowPrivateNetworks: deps.allowPrivateNetworks });
  const ownsNotifier = !deps.notifier;

  let rules: RuleSpec[] = [];
  let rulesById = new Map<string, RuleSpec>();
  const devices = new Map<string, DeviceInfo>();
  let silences: SilenceSpec[] = [];
  const open = new Map<string, OpenAlert>();
  const restarts = new RestartHistory();

  const queue: (() => Promise<void>)[] = [];
  let draining: Promise<void> | null = null;
  let running = false;
  let evaluated = 0;
  let dropped = 0;
  let lastRefresh = 0;
  let tickTimer: NodeJS.Timeout | undefined;
  const cleanups: (() => void)[] = [];

  // ---- caches

  async function loadRules(): Promise<void> {
    rules = (await prisma.alertRule.findMany({ where: { enabled: true }, orderBy: { createdAt: 'asc' } })).map(toRuleSpec);
    rulesById = new Map(rules.map((r) => [r.id, r]));
  }

  async function loadDevices(): Promise<{ id: string; status: string }[]> {
    const rows = await prisma.device.findMany({ select: { id: true, name: true, tags: true, status: true } });
    devices.clear();
    for (const d of rows) devices.set(d.id, { id: d.id, name: d.name, tags: d.tags });
    return rows;
  }

  async function device(id: string): Promise<DeviceInfo | null> {
    const known = devices.get(id);
    if (known) return known;
    const row = await prisma.device.findUnique({ where: { id }, select: { id: true, name: true, tags: true } });
    if (row) devices.set(id, row);
    return row;
  }

  async function loadOpenAlerts(): Promise<void> {
    const rows = await prisma.alert.findMany({ where: { state: { not: 'RESOLVED' } } });
    open.clear();
    for (const a of rows) {
      if (a.state === 'RESOLVED') continue;
      open.set(key(a.ruleId, a.deviceId, a.subject), {
        alertId: a.id,
        ruleId: a.ruleId,
        deviceId: a.deviceId,
        subject: a.subject,
        track: { state: a.state, pendingSince: a.pendingSince.getTime(), firedAt: a.firedAt?.getTime() ?? null, lastNotifiedAt: a.lastNotifiedAt?.getTime() ?? null },
      });
    }
  }

  /** Reloads everything; closes alerts whose rule was disabled/deleted or no longer covers the device; re-reads device statuses. */
  async function reload(): Promise<void> {
    await loadRules();
    const statuses = await loadDevices();
    silences = await loadSilences(prisma, now());
    lastRefresh = Date.now();
    const at = now();
    for (const a of [...open.values()]) {
      const rule = rulesById.get(a.ruleId);
      const dev = devices.get(a.deviceId);
      if (!dev) open.delete(key(a.ruleId, a.deviceId, a.subject));
      else if (!rule) await closeOrphan(a, at, 'rule disabled or deleted');
      else if (!inScope(rule, dev)) await resolve(rule, dev, a, null, at, 'device no longer in the rule\'s scope');
    }
    // A new DEVICE_STATUS rule, or statuses that changed while this instance was down.
    for (const rule of rules.filter((r) => r.metric === 'DEVICE_STATUS')) {
      for (const s of statuses) {
        const dev = devices.get(s.id);
        if (dev && inScope(rule, dev)) await apply(rule, dev, { deviceId: s.id, subject: '', value: s.status }, at);
      }
    }
  }

  // ---- persistence + side effects of one transition

  function publish(a: { alertId: string; ruleId: string; deviceId: string }, state: string, at: Date): void {
    void events.publish('alertChanged', { alertId: a.alertId, ruleId: a.ruleId, deviceId: a.deviceId, state, at: at.toISOString() });
  }

  function silenced(rule: RuleSpec, dev: DeviceInfo, at: Date): boolean {
    const s = silencedBy(silences, { deviceId: dev.id, deviceTags: dev.tags, ruleId: rule.id, severity: rule.severity }, at);
    if (s) log.debug({ ruleId: rule.id, deviceId: dev.id, silenceId: s.id }, 'notification silenced');
    return Boolean(s);
  }

  function message(event: NotificationEvent, rule: RuleSpec, dev: DeviceInfo, a: OpenAlert, state: NotificationMessage['state'], value: number | string | null, at: Date): NotificationMessage {
    return {
      event,
      alertId: a.alertId,
      state,
      severity: rule.severity,
      rule: { id: rule.id, name: rule.name, metric: rule.metric },
      device: { id: dev.id, name: dev.name },
      subject: a.subject,
      value: value === null ? null : formatValue(value),
      message: value === null ? `${rule.name}: resolved` : describe(rule, a.subject, value),
      at: at.toISOString(),
      firedAt: a.track.firedAt === null ? null : new Date(a.track.firedAt).toISOString(),
      resolvedAt: state === 'RESOLVED' ? at.toISOString() : null,
    };
  }

  /** Hands a notification over unless silenced; true when handed over. */
  function notify(event: NotificationEvent, rule: RuleSpec, dev: DeviceInfo, a: OpenAlert, state: NotificationMessage['state'], value: number | string | null, at: Date): boolean {
    if (silenced(rule, dev, at)) return false;
    notifier.notify(message(event, rule, dev, a, state, value, at), rule.channelIds);
    return true;
  }

  async function resolve(rule: RuleSpec, dev: DeviceInfo, a: OpenAlert, value: number | string | null, at: Date, why?: string): Promise<void> {
    open.delete(key(a.ruleId, a.deviceId, a.subject));
    const msg = why ?? (value === null ? 'resolved' : describe(rule, a.subject, value));
    const { count } = await prisma.alert.updateMany({
      where: { id: a.alertId, state: { not: 'RESOLVED' } },
      data: { state: 'RESOLVED', resolvedAt: at, message: msg, ...(value === null ? {} : { value: formatValue(value) }) },
    });
    if (count === 0) return;
    publish(a, 'RESOLVED', at);
    // Only alerts someone was told about get a resolution message.
    if (a.track.firedAt !== null && a.track.lastNotifiedAt !== null) notify('resolved', rule, dev, a, 'RESOLVED', value, at);
  }

  async function closeOrphan(a: OpenAlert, at: Date, why: string): Promise<void> {
    open.delete(key(a.ruleId, a.deviceId, a.subject));
    const { count } = await prisma.alert.updateMany({ where: { id: a.alertId, state: { not: 'RESOLVED' } }, data: { state: 'RESOLVED', resolvedAt: at, message: why } });
    if (count) publish(a, 'RESOLVED', at);
  }

  async function apply(rule: RuleSpec, dev: DeviceInfo, obs: Observation | null, at: Date, subject = obs?.subject ?? ''): Promise<void> {
    const k = key(rule.id, dev.id, subject);
    const current = open.get(k) ?? null;
    const ms = at.getTime();
    const action = step(rule, current?.track ?? null, obs, ms);
    if (action.kind === 'none') return;
    const value = obs?.value ?? null;

    if (action.kind === 'open') {
      const firing = action.state === 'FIRING';
      const a: OpenAlert = { alertId: '', ruleId: rule.id, deviceId: dev.id, subject, track: { state: action.state, pendingSince: ms, firedAt: firing ? ms : null, lastNotifiedAt: null } };
      const willNotify = firing && !silenced(rule, dev, at);
      if (willNotify) a.track.lastNotifiedAt = ms;
      try {
        const row = await prisma.alert.create({
          data: {
            ruleId: rule.id,
            deviceId: dev.id,
            subject,
            state: action.state,
            severity: rule.severity,
            value: value === null ? null : formatValue(value),
            message: value === null ? null : describe(rule, subject, value),
            pendingSince: at,
            firedAt: firing ? at : null,
            lastNotifiedAt: willNotify ? at : null,
          },
        });
        a.alertId = row.id;
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // Another instance (or a reload race) opened it first: adopt that one, never notify twice.
        const existing = await prisma.alert.findFirst({ where: { ruleId: rule.id, deviceId: dev.id, subject, state: { not: 'RESOLVED' } } });
        if (existing && existing.state !== 'RESOLVED') {
          open.set(k, { ...a, alertId: existing.id, track: { state: existing.state, pendingSince: existing.pendingSince.getTime(), firedAt: existing.firedAt?.getTime() ?? null, lastNotifiedAt: existing.lastNotifiedAt?.getTime() ?? null } });
        }
        return;
      }
      open.set(k, a);
      publish(a, action.state, at);
      if (willNotify) notifier.notify(message('firing', rule, dev, a, 'FIRING', value, at), rule.channelIds);
      return;
    }

    const a = current!;
    if (action.kind === 'resolve') return resolve(rule, dev, a, value, at);

    if (action.kind === 'fire') {
      const willNotify = !silenced(rule, dev, at);
      a.track = { ...a.track, state: 'FIRING', firedAt: ms, lastNotifiedAt: willNotify ? ms : null };
      const { count } = await prisma.alert.updateMany({
        where: { id: a.alertId, state: 'PENDING' },
        data: { state: 'FIRING', firedAt: at, ...(value === null ? {} : { value: formatValue(value), message: describe(rule, subject, value) }), lastNotifiedAt: willNotify ? at : null },
      });
      if (count === 0) return void open.delete(k);
      publish(a, 'FIRING', at);
      if (willNotify) notifier.notify(message('firing', rule, dev, a, 'FIRING', value, at), rule.channelIds);
      return;
    }

    // renotify: a repeat, or the first notice of an alert that fired while silenced.
    if (silenced(rule, dev, at)) return;
    const row = await prisma.alert.findUnique({ where: { id: a.alertId }, select: { state: true, value: true } });
    if (!row || row.state === 'RESOLVED') return void open.delete(k);
    if (row.state !== 'FIRING') {
      a.track = { ...a.track, state: row.state };
      return;
    }
    const event: NotificationEvent = a.track.lastNotifiedAt === null ? 'firing' : 'repeat';
    a.track = { ...a.track, lastNotifiedAt: ms };
    await prisma.alert.update({ where: { id: a.alertId }, data: { lastNotifiedAt: at, ...(value === null ? {} : { value: formatValue(value), message: describe(rule, subject, value) }) } });
    notifier.notify(message(event, rule, dev, a, 'FIRING', value ?? row.value, at), rule.channelIds);
  }

  // ---- jobs

  function freshOnly(batch: SampleBatch, cutoff: number): SampleBatch {
    const fresh = <R extends { time: Date }>(rows: R[]) => (rows.every((r) => r.time.getTime() >= cutoff) ? rows : rows.filter((r) => r.time.getTime() >= cutoff));
    return {
      system: fresh(batch.system),
      filesystems: fresh(batch.filesystems),
      networks: batch.networks,
      diskIo: batch.diskIo,
      drives: fresh(batch.drives),
      containers: fresh(batch.containers),
    };
  }

  async function evaluateBatch(raw: SampleBatch): Promise<void> {
    const at = now();
    const batch = freshOnly(raw, at.getTime() - t.staleMs);
    const families = new Set<MetricFamily>();
    for (const rule of rules) {
      const family = metricFamily(rule.metric);
      if (family === 'status') continue;
      families.add(family);
      for (const obs of observe(rule.metric, batch, restarts, at.getTime())) {
        const dev = await device(obs.deviceId);
        if (dev && inScope(rule, dev)) await apply(rule, dev, obs, at);
      }
    }
    // Alerts on subjects a device stopped reporting (a removed container, an unmounted filesystem) resolve.
    for (const family of families) {
      if (family === 'system') continue;
      const reported = reportedSubjects(family, batch);
      if (reported.size === 0) continue;
      for (const a of [...open.values()]) {
        const subjects = reported.get(a.deviceId);
        const rule = rulesById.get(a.ruleId);
        if (!subjects || !rule || metricFamily(rule.metric) !== family || subjects.has(a.subject)) continue;
        const dev = await device(a.deviceId);
        if (dev) await resolve(rule, dev, a, null, at, `${a.subject} is no longer reported`);
      }
    }
    restarts.prune(at.getTime());
  }

  async function evaluateStatus(evt: DeviceStatusEvent): Promise<void> {
    const at = now();
    const dev = await device(evt.deviceId);
    if (!dev) return;
    for (const rule of rules) {
      if (rule.metric === 'DEVICE_STATUS' && inScope(rule, dev)) await apply(rule, dev, { deviceId: dev.id, subject: '', value: evt.current }, at);
    }
  }

  async function evaluateTick(): Promise<void> {
    if (Date.now() - lastRefresh >= t.refreshMs) await reload();
    const at = now();
    for (const a of [...open.values()]) {
      const rule = rulesById.get(a.ruleId);
      if (!rule) continue;
      // Samples must confirm a pending sample metric; a device status holds until it changes.
      if (a.track.state === 'PENDING' && rule.metric !== 'DEVICE_STATUS') continue;
      const dev = await device(a.deviceId);
      if (dev) await apply(rule, dev, null, at, a.subject);
    }
  }

  function enqueue(job: () => Promise<void>, what: string): void {
    if (!running) return;
    if (queue.length >= t.maxQueue) {
      dropped++;
      log.warn({ queued: queue.length, dropped }, 'alert evaluation queue full: dropping work');
      return;
    }
    queue.push(async () => {
      try {
        await job();
      } catch (err) {
        log.error({ err: (err as Error).message, what }, 'alert evaluation failed');
      }
    });
    draining ??= (async () => {
      // Let the poller's caller continue before evaluation starts.
      await new Promise<void>((r) => setImmediate(r));
      for (let job = queue.shift(); job; job = queue.shift()) {
        await job();
        evaluated++;
      }
      draining = null;
    })();
  }

  async function drained(): Promise<void> {
    while (draining) await draining;
  }

  const api: AlertEvaluator = {
    async start() {
      if (t.builtins) {
        const created = await ensureBuiltinRules(prisma);
        if (created) log.info({ created }, 'built-in alert rules created');
      }
      await loadOpenAlerts();
      await reload();
      running = true;
      cleanups.push(
        events.listen('alertConfigChanged', () => {
          enqueue(reload, 'reload');
        }),
      );
      if (t.subscribeToStatus) {
        const source = events.subscribe('deviceStatusChanged')[Symbol.asyncIterator]();
        cleanups.push(() => void source.return?.());
        void (async () => {
          for (;;) {
            const next = await source.next();
            if (next.done) return;
            api.onStatusChange(next.value);
          }
        })().catch((err: unknown) => log.error({ err: (err as Error).message }, 'status subscription ended'));
      }
      if (t.tickMs > 0) {
        tickTimer = setInterval(() => enqueue(evaluateTick, 'tick'), t.tickMs);
        tickTimer.unref();
      }
      log.info({ rules: rules.length, openAlerts: open.size }, 'alert evaluator started');
    },
    async stop() {
      running = false;
      clearInterval(tickTimer);
      for (const c of cleanups.splice(0)) c();
      await drained();
      if (ownsNotifier) await notifier.stop();
      else await notifier.idle();
    },
    onBatchWritten(batch) {
      enqueue(() => evaluateBatch(batch), 'batch');
    },
    onStatusChange(evt) {
      enqueue(() => evaluateStatus(evt), 'status');
    },
    async refresh() {
      enqueue(reload, 'reload');
      await drained();
    },
    async idle() {
      await drained();
      await notifier.idle();
    },
    async tick() {
      enqueue(evaluateTick, 'tick');
      await drained();
    },
    stats() {
      return { rules: rules.length, openAlerts: open.size, queued: queue.length, evaluated, dropped };
    },
  };
  return api;
}
