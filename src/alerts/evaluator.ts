/**
 * Alert evaluation off the write path: the poller hands each committed batch to
 * `onBatchWritten`, which only queues it; one worker (queue.ts) evaluates queued batches and
 * status changes in order against the enabled rules cached in state.ts; transitions.ts
 * persists every transition (so a restart neither re-fires nor forgets), publishes
 * `alertChanged`, and hands notifications to the notifier unless a silence matches.
 */
import type { Database, PrismaClient } from '../db/index.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { DeviceStatusEvent, EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import type { NamedCheckResult } from '../storage/checks.ts';
import type { SampleBatch } from '../storage/types.ts';
import { withCulprits, type ExecOn } from './culprits.ts';
import { createNotifier, type Notifier } from './notifiers.ts';
import { createSerialQueue } from './queue.ts';
import { createEvaluations } from './evaluations.ts';
import { BUILTIN_RULES } from './rules.ts';
import { createAlertState } from './state.ts';
import { createTransitions } from './transitions.ts';

export { toRuleSpec } from './state.ts';

export interface AlertEvaluatorDeps {
  db: Pick<Database, 'prisma'>;
  events: EventBus;
  log: Logger;
  secrets: SecretBox;
  /** Default: createNotifier over the same db/secrets/log. */
  notifier?: Notifier;
  /** For the default notifier: NOTIFY_ALLOW_PRIVATE_NETWORKS. */
  allowPrivateNetworks?: boolean;
  /** For the default notifier: runs a command over the poller's connection, so firing CPU/memory alerts name their top processes. */
  execOn?: ExecOn;
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
  /** For the check runner: results it stored (every run), evaluated by the instance that ran them, as samples are. */
  onCheckResults(rows: readonly NamedCheckResult[]): void;
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
  const enrich = deps.execOn ? withCulprits(deps.execOn, log) : undefined;
  const notifier = deps.notifier ?? createNotifier({ db: deps.db, secrets: deps.secrets, log, now, allowPrivateNetworks: deps.allowPrivateNetworks, enrich });
  const ownsNotifier = !deps.notifier;
  const state = createAlertState(prisma);
  const transitions = createTransitions({ prisma, events, notifier, log, state });
  const { reload, evaluateBatch, evaluateChecks, evaluateStatus, evaluateTick } = createEvaluations({ state, transitions, now, staleMs: t.staleMs, refreshMs: t.refreshMs });
  const queue = createSerialQueue(t.maxQueue, log);
  let tickTimer: NodeJS.Timeout | undefined;
  const cleanups: (() => void)[] = [];

  function followStatus(): void {
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

  const api: AlertEvaluator = {
    async start() {
      if (t.builtins) {
        const created = await ensureBuiltinRules(prisma);
        if (created) log.info({ created }, 'built-in alert rules created');
      }
      await state.loadOpenAlerts();
      await reload();
      queue.running = true;
      cleanups.push(events.listen('alertConfigChanged', () => queue.enqueue(reload, 'reload')));
      // A check deleted, disabled or narrowed: its alerts on devices it no longer runs on resolve.
      cleanups.push(events.listen('checksChanged', () => queue.enqueue(reload, 'reload')));
      if (t.subscribeToStatus) followStatus();
      if (t.tickMs > 0) {
        tickTimer = setInterval(() => queue.enqueue(evaluateTick, 'tick'), t.tickMs);
        tickTimer.unref();
      }
      log.info({ rules: state.rules.length, openAlerts: state.open.size }, 'alert evaluator started');
    },
    async stop() {
      queue.running = false;
      clearInterval(tickTimer);
      for (const c of cleanups.splice(0)) c();
      await queue.drained();
      if (ownsNotifier) await notifier.stop();
      else await notifier.idle();
    },
    onBatchWritten(batch) {
      queue.enqueue(() => evaluateBatch(batch), 'batch');
    },
    onCheckResults(rows) {
      if (rows.length > 0) queue.enqueue(() => evaluateChecks(rows), 'checks');
    },
    onStatusChange(evt) {
      queue.enqueue(() => evaluateStatus(evt), 'status');
    },
    async refresh() {
      queue.enqueue(reload, 'reload');
      await queue.drained();
    },
    async idle() {
      await queue.drained();
      await notifier.idle();
    },
    async tick() {
      queue.enqueue(evaluateTick, 'tick');
      await queue.drained();
    },
    stats() {
      return { rules: state.rules.length, openAlerts: state.open.size, ...queue.stats() };
    },
  };
  return api;
}
