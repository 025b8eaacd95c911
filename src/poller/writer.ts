/**
 * The poller's only path to the time-series tables: coalesces the batches of many device polls
 * into one `writeBatch` (every `flushMs` or at `maxRows` rows, whichever comes first; a backlog
 * goes out `maxRows` at a time, back to back) and tells each poll when its rows are committed.
 *
 * `onCommitted` is the one "after commit" path: every batch goes through it once it is in the
 * database, whether it was written live or replayed after an outage (events, alert evaluation).
 *
 * When the database is unreachable the writer switches to outage mode: batches go, in order,
 * to the on-disk spool (spool.ts) by group commit, so that a crash (SIGKILL, OOM, power cut)
 * loses at most the last `spoolCommitMs`. Between group commits, and when the spool refuses
 * them (disk full, spool full, I/O error), they wait in memory, at most `memoryRows` rows;
 * beyond that new batches are dropped, counted and logged. While anything is waiting, new
 * batches queue behind it (never overtake it), and a background loop retries with backoff:
 * spool segments oldest first, then what the disk refused. A replayed segment's records are
 * written once per process (progress is kept across retries); a crash during a replay can
 * write some again, which the tables' unique indexes make harmless.
 * A batch the database refuses while it is reachable (bad data) is dropped with an error log;
 * retrying it forever would block everything behind it.
 */
import type { PrismaClient } from '../db/generated/client.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import type { Logger } from '../log.ts';
import { batchSize, writeBatch as storageWriteBatch } from '../storage/index.ts';
import { emptyBatch, type SampleBatch } from '../storage/types.ts';
import { backoffDelay } from '../transport/backoff.ts';
import { openSpool, type Spool, type SpoolItem, type SpoolSegment, type SpoolStats } from './spool.ts';

/** committed: in the database. deferred: in the spool or on its way there, written later. dropped: lost (refused, or memory full). */
export type WriteResult = 'committed' | 'deferred' | 'dropped';

/** live: written as it was polled. replay: written after an outage, from the spool or memory. */
export type CommitOrigin = 'live' | 'replay';

export interface WriterOptions {
  prisma: PrismaClient;
  log: Logger;
  spoolDir: string;
  flushMs?: number;
  maxRows?: number;
  /** Rows held in memory during an outage that are not in the spool yet (between group commits, or refused by a full disk) before new batches are dropped (default 50,000). */
  memoryRows?: number;
  /** During an outage, a batch reaches the fsynced spool at most this long after it was written (default 500 ms). */
  spoolCommitMs?: number;
  spoolMaxBytes?: number;
  spoolSegmentBytes?: number;
  /** Delay between database retries during an outage. */
  retry?: { baseMs?: number; maxMs?: number };
  /** After every commit, live or replayed, with what it wrote: the one place for "after commit". */
  onCommitted?: (batch: SampleBatch, origin: CommitOrigin) => void;
  /** After each write attempt of a live flush (metrics): rows, seconds, committed or not. */
  onFlush?: (rows: number, seconds: number, ok: boolean) => void;
  /** Replaceable for tests. */
  writeBatch?: (prisma: PrismaClient, batch: SampleBatch) => Promise<number>;
}

export interface WriterStats {
  /** Rows waiting for the next coalesced flush. */
  queuedRows: number;
  /** Rows held in memory during an outage (not yet in the spool). */
  bufferedRows: number;
  outage: boolean;
  committedRows: number;
  flushes: number;
  /** Rows lost: refused by the database as bad data, or beyond the memory bound while the spool refused them. */
  droppedRows: number;
  spool: SpoolStats;
}

export interface Writer {
  write(batch: SampleBatch): Promise<WriteResult>;
  /** Replays what an earlier run left in the spool (in the background). */
  start(): void;
  /** Flushes what is queued; whatever cannot be written goes to the spool (what the disk refuses then is lost, counted and logged). */
  stop(): Promise<void>;
  stats(): WriterStats;
  /** True when nothing is queued, buffered or spooled. */
  drained(): boolean;
}

interface Entry extends SpoolItem {
  resolve: (r: WriteResult) => void;
}

/** Rows per replayed statement group: bounded memory and transaction size. */
const REPLAY_CHUNK_ROWS = 5000;
/** Drops are logged at most this often (with the running count), not once per batch. */
const DROP_LOG_EVERY_MS = 60_000;

export function mergeBatches(batches: SampleBatch[]): SampleBatch {
  if (batches.length === 1) return batches[0]!;
  const out = emptyBatch();
  for (const b of batches) {
    for (const key of Object.keys(out) as (keyof SampleBatch)[]) {
      const target = out[key] as unknown[];
      for (const row of b[key]) target.push(row);
    }
  }
  return out;
}

/** Groups consecutive items into chunks of about `limit` rows, keeping their order. */
function chunks<T extends { rows: number }>(items: readonly T[], limit: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let n = 0;
  for (const it of items) {
    if (cur.length > 0 && n + it.rows > limit) {
      out.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(it);
    n += it.rows;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

const rowsOf = (items: readonly SpoolItem[]): number => items.reduce((n, it) => n + it.rows, 0);

/** How a group of items fared: the first `results.length` are settled; `unreachable` says why the rest were not tried. */
interface GroupOutcome {
  results: ('committed' | 'dropped')[];
  unreachable?: string;
}

export function createWriter(options: WriterOptions): Writer {
  const { prisma, log } = options;
  const flushMs = options.flushMs ?? 250;
  const maxRows = options.maxRows ?? 1000;
  const memoryRows = options.memoryRows ?? 50_000;
  const spoolCommitMs = options.spoolCommitMs ?? 500;
  const write = options.writeBatch ?? storageWriteBatch;
  const retryBase = options.retry?.baseMs ?? 1000;
  const retryMax = options.retry?.maxMs ?? 30_000;
  const spool: Spool = openSpool({ dir: options.spoolDir, log, maxBytes: options.spoolMaxBytes, segmentBytes: options.spoolSegmentBytes });

  let pending: Entry[] = [];
  let pendingRows = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  /** Outage mode: everything goes to the spool (through `memory`) until the recovery loop drains it. */
  let outage = false;
  /** Batches not in the spool yet, oldest first. */
  let memory: SpoolItem[] = [];
  let memRows = 0;
  let commitTimer: NodeJS.Timeout | undefined;
  let recovering: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryAttempt = 0;
  /** Records of the oldest segment already written by this process (a retry skips them: no double events). */
  let replayed: { file: string; done: number } | undefined;
  let stopping = false;
  let committedRows = 0;
  let flushes = 0;
  let droppedRows = 0;
  let dropLog = { at: 0, rows: 0 };

  const reachable = async (): Promise<boolean> => {
    try {
      await prisma.$queryRawUnsafe('SELECT 1');
      return true;
    } catch {
      return false;
    }
  };

  /**
   * Whether a failed write means the data was refused (then batch by batch, dropping what is
   * refused) rather than the database not taking writes now: down, or too busy to start a
   * transaction in time (P2028) while SELECT 1 still answers. The latter is an outage: spool, retry.
   */
  const accepting = async (err: unknown): Promise<boolean> => !isDatabaseUnavailable(err) && (await reachable());

  const dropped = (rows: number, why: string): void => {
    droppedRows += rows;
    dropLog.rows += rows;
    const now = Date.now();
    if (now - dropLog.at < DROP_LOG_EVERY_MS) return;
    log.error({ rows: dropLog.rows, droppedRows, memoryRows, why }, 'samples DROPPED: the database is unreachable and the spool cannot take more');
    dropLog = { at: now, rows: 0 };
  };

  /** The group commit: moves what waits in memory to the spool (one fsync); what the spool refuses stays, oldest first. */
  const commitToSpool = (): void => {
    clearTimeout(commitTimer);
    commitTimer = undefined;
    if (memory.length === 0) return;
    const stored = spool.append(memory);
    if (stored === 0) return scheduleCommit();
    memory = memory.slice(stored);
    memRows = rowsOf(memory);
    if (memory.length > 0) scheduleCommit();
  };

  function scheduleCommit(): void {
    commitTimer ??= setTimeout(commitToSpool, spoolCommitMs);
  }

  /** Takes a batch into the outage path: deferred, or dropped when memory is full and the spool refuses. */
  const buffer = (item: SpoolItem): WriteResult => {
    memory.push(item);
    memRows += item.rows;
    // Memory full before the next group commit is due (or shutting down): commit now rather than drop.
    if (memRows > memoryRows || stopping) commitToSpool();
    if (memRows > memoryRows) {
      memory.pop(); // the spool refused: the newest batch goes, the older ones keep their place
      memRows -= item.rows;
      dropped(item.rows, 'memory bound reached while the spool refuses writes');
      return 'dropped';
    }
    scheduleCommit();
    return 'deferred';
  };

  const enterOutage = (entries: Entry[], reason: string): void => {
    if (!outage) log.error({ err: reason }, 'database unreachable or not taking writes: spooling samples to disk until it does');
    outage = true;
    // Entries queued behind the failed flush are newer: they follow it.
    const all = [...entries, ...pending];
    pending = [];
    pendingRows = 0;
    clearTimeout(timer);
    timer = undefined;
    for (const e of all) e.resolve(buffer({ batch: e.batch, rows: e.rows }));
    scheduleRecovery();
  };

  /**
   * Writes items as one statement; when the database refuses that while reachable, item by
   * item, dropping what it refuses. Stops at the first sign the database is unreachable.
   */
  const commitGroup = async (items: readonly SpoolItem[], origin: CommitOrigin): Promise<GroupOutcome> => {
    const merged = mergeBatches(items.map((it) => it.batch));
    const rows = rowsOf(items);
    const t0 = performance.now();
    try {
      await write(prisma, merged);
    } catch (err) {
      if (origin === 'live') options.onFlush?.(rows, (performance.now() - t0) / 1000, false);
      if (!(await accepting(err))) return { results: [], unreachable: (err as Error).message };
      return commitEach(items, origin);
    }
    if (origin === 'live') options.onFlush?.(rows, (performance.now() - t0) / 1000, true);
    committed(merged, rows, origin);
    return { results: items.map(() => 'committed') };
  };

  /** In the database: counted, then announced. A failure of what follows the commit is that code's, not the write's: the rows stay committed. */
  const committed = (batch: SampleBatch, rows: number, origin: CommitOrigin): void => {
    committedRows += rows;
    try {
      options.onCommitted?.(batch, origin);
    } catch (err) {
      log.error({ err: (err as Error).message, rows, origin }, 'after-commit step failed (events, alert queue); the samples are stored');
    }
  };

  /** A group the reachable database refused: finds the batch it refuses and keeps the others. */
  const commitEach = async (items: readonly SpoolItem[], origin: CommitOrigin): Promise<GroupOutcome> => {
    const results: GroupOutcome['results'] = [];
    for (const it of items) {
      try {
        await write(prisma, it.batch);
      } catch (err) {
        if (!(await accepting(err))) return { results, unreachable: (err as Error).message };
        droppedRows += it.rows;
        log.error({ err: (err as Error).message, rows: it.rows, origin }, 'database refused a sample batch; dropping it');
        results.push('dropped');
        continue;
      }
      committed(it.batch, it.rows, origin);
      results.push('committed');
    }
    return { results };
  };

  const flush = async (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    // At most maxRows per statement (at least one batch): a backlog is cleared by flushes of the
    // usual size, back to back, rather than by one statement as big as the backlog. At 10,000
    // devices the connection burst queued 100,000 rows behind one flush.
    const entries = chunks(pending, maxRows)[0]!;
    pending = pending.slice(entries.length);
    pendingRows -= rowsOf(entries);
    flushes++;
    const outcome = await commitGroup(entries, 'live');
    outcome.results.forEach((r, i) => entries[i]!.resolve(r));
    if (outcome.unreachable !== undefined) enterOutage(entries.slice(outcome.results.length), outcome.unreachable);
  };

  /** A fired timer must not stay set: `timer ??=` would then never schedule the flush of what queued behind a slow one. */
  const scheduleFlush = (): void => {
    timer ??= setTimeout(() => {
      timer = undefined;
      runFlush();
    }, flushMs);
  };

  const runFlush = (): void => {
    if (flushing) return;
    flushing = flush()
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'sample writer failed'))
      .finally(() => {
        flushing = undefined;
        if (pending.length > 0) {
          if (pendingRows >= maxRows) runFlush();
          else scheduleFlush();
        }
      });
  };

  /** Writes one spool segment's records not yet written by this process; throws when the database fails again. */
  const replaySegment = async (segment: SpoolSegment): Promise<void> => {
    if (replayed?.file !== segment.file) replayed = { file: segment.file, done: 0 };
    const progress = replayed;
    for (const group of chunks(segment.records.slice(progress.done), REPLAY_CHUNK_ROWS)) {
      const outcome = await commitGroup(group, 'replay');
      progress.done += outcome.results.length;
      if (outcome.unreachable !== undefined) throw new Error(outcome.unreachable);
    }
    spool.finish(segment);
    replayed = undefined;
    log.info({ file: segment.file, records: segment.records.length, quarantined: segment.damaged }, 'replayed a spool segment');
  };

  /** One pass: what waits in memory to the spool, the spool oldest first, then what the disk refused. Throws when the database fails again. */
  const drainOnce = async (): Promise<void> => {
    // A cheap probe first: reading a large spool only to fail on its first write would be waste.
    if (!(await reachable())) throw new Error('database unreachable');
    commitToSpool();
    for (let segment = spool.oldest(); segment; segment = spool.oldest()) await replaySegment(segment);
    while (memory.length > 0) {
      // Taken out while written, so a group commit meanwhile cannot spool them a second time.
      const group = chunks(memory, REPLAY_CHUNK_ROWS)[0]!;
      memory = memory.slice(group.length);
      memRows = rowsOf(memory);
      const outcome = await commitGroup(group, 'replay');
      if (outcome.unreachable !== undefined) {
        memory = [...group.slice(outcome.results.length), ...memory];
        memRows = rowsOf(memory);
        throw new Error(outcome.unreachable);
      }
      if (!spool.isEmpty()) return drainOnce(); // a group commit happened meanwhile: those follow
    }
  };

  const recover = async (): Promise<void> => {
    try {
      await drainOnce();
    } catch (err) {
      retryAttempt++;
      log.debug({ err: (err as Error).message, attempt: retryAttempt }, 'database still unreachable');
      scheduleRecovery();
      return;
    }
    if (memory.length === 0 && spool.isEmpty()) {
      if (outage) log.info({ committedRows, droppedRows }, 'database reachable again: spooled samples written');
      outage = false;
      retryAttempt = 0;
    } else {
      scheduleRecovery();
    }
  };

  function scheduleRecovery(): void {
    if (stopping || retryTimer || recovering) return;
    const delay = backoffDelay(Math.max(1, retryAttempt), { baseMs: retryBase, maxMs: retryMax, jitter: 0.3 });
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      recovering = recover().finally(() => {
        recovering = undefined;
        if (outage && !stopping && !retryTimer && (memory.length > 0 || !spool.isEmpty())) scheduleRecovery();
      });
    }, delay);
  }

  return {
    write(batch) {
      const rows = batchSize(batch);
      if (rows === 0) return Promise.resolve('committed');
      if (outage || stopping) return Promise.resolve(buffer({ batch, rows }));
      return new Promise<WriteResult>((resolve) => {
        pending.push({ batch, rows, resolve });
        pendingRows += rows;
        if (pendingRows >= maxRows) runFlush();
        else scheduleFlush();
      });
    },

    start() {
      if (!spool.isEmpty()) {
        const s = spool.stats();
        log.info({ records: s.records, rows: s.rows, bytes: s.bytes }, 'spooled samples from an earlier run: replaying them');
        outage = true;
        retryAttempt = 0;
        recovering = recover().finally(() => {
          recovering = undefined;
        });
      }
    },

    async stop() {
      stopping = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      await recovering;
      while (flushing || pending.length > 0) {
        if (!flushing) runFlush();
        await flushing;
      }
      // Outage or not, nothing stays in memory: what was not written goes to disk for the next start.
      commitToSpool();
      clearTimeout(commitTimer);
      commitTimer = undefined;
      if (memRows > 0) {
        droppedRows += memRows;
        log.error({ rows: memRows, droppedRows, spoolDir: options.spoolDir }, 'samples LOST at shutdown: neither the database nor the spool could take them');
        memory = [];
        memRows = 0;
      }
      spool.close();
    },

    stats: () => ({
      queuedRows: pendingRows,
      bufferedRows: memRows,
      outage,
      committedRows,
      flushes,
      droppedRows,
      spool: spool.stats(),
    }),

    drained: () => pending.length === 0 && memory.length === 0 && spool.isEmpty() && !flushing,
  };
}
