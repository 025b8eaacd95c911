/**
 * The poller's only path to the time-series tables: coalesces the batches of many device polls
 * into one `writeBatch` (every `flushMs` or at `maxRows` rows, whichever comes first) and tells
 * each poll when its rows are committed, so events go out after the commit.
 *
 * When the database is unreachable the writer switches to outage mode: batches wait, in order,
 * in a memory buffer of at most `memoryRows` rows; past that the buffer moves to the on-disk
 * spool (spool.ts). While anything is waiting, new batches queue behind it (never overtake it),
 * and a background loop retries with backoff: spool segments oldest first, then the memory
 * buffer. Rows can be written twice (a segment replayed again after a failure half-way), never
 * lost or doubled in the table: the tables' unique indexes make inserts idempotent.
 * A batch the database refuses while it is reachable (bad data) is dropped with an error log;
 * retrying it forever would block everything behind it.
 */
import type { PrismaClient } from '../db/generated/client.ts';
import type { Logger } from '../log.ts';
import { batchSize, writeBatch as storageWriteBatch } from '../storage/index.ts';
import { emptyBatch, type SampleBatch } from '../storage/types.ts';
import { backoffDelay } from '../transport/backoff.ts';
import { openSpool, type Spool, type SpoolStats } from './spool.ts';

/** committed: in the database. deferred: safe in the buffer or spool, written later. dropped: lost (spool full or refused). */
export type WriteResult = 'committed' | 'deferred' | 'dropped';

export interface WriterOptions {
  prisma: PrismaClient;
  log: Logger;
  spoolDir: string;
  flushMs?: number;
  maxRows?: number;
  /** Rows held in memory during an outage before they move to the spool (default 50,000). */
  memoryRows?: number;
  spoolMaxBytes?: number;
  spoolSegmentBytes?: number;
  /** Delay between database retries during an outage. */
  retry?: { baseMs?: number; maxMs?: number };
  /** Called after a live (not replayed) flush committed, with what it wrote. */
  onCommitted?: (batch: SampleBatch) => void;
  /** After each write attempt of a live flush (metrics): rows, seconds, committed or not. */
  onFlush?: (rows: number, seconds: number, ok: boolean) => void;
  /** Replaceable for tests. */
  writeBatch?: (prisma: PrismaClient, batch: SampleBatch) => Promise<number>;
}

export interface WriterStats {
  /** Rows waiting for the next coalesced flush. */
  queuedRows: number;
  /** Rows held in memory during an outage. */
  bufferedRows: number;
  outage: boolean;
  committedRows: number;
  flushes: number;
  /** Rows lost: refused by the database as bad data, or refused by a full spool. */
  droppedRows: number;
  spool: SpoolStats;
}

export interface Writer {
  write(batch: SampleBatch): Promise<WriteResult>;
  /** Replays what an earlier run left in the spool (in the background). */
  start(): void;
  /** Flushes what is queued; whatever cannot be written goes to the spool. */
  stop(): Promise<void>;
  stats(): WriterStats;
  /** True when nothing is queued, buffered or spooled. */
  drained(): boolean;
}

interface Entry {
  batch: SampleBatch;
  rows: number;
  resolve: (r: WriteResult) => void;
}

interface Buffered {
  batch: SampleBatch;
  rows: number;
}

/** Rows per replayed statement group: bounded memory and transaction size. */
const REPLAY_CHUNK_ROWS = 5000;

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
function chunks<T extends { rows: number }>(items: T[], limit: number): T[][] {
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

export function createWriter(options: WriterOptions): Writer {
  const { prisma, log } = options;
  const flushMs = options.flushMs ?? 250;
  const maxRows = options.maxRows ?? 1000;
  const memoryRows = options.memoryRows ?? 50_000;
  const write = options.writeBatch ?? storageWriteBatch;
  const retryBase = options.retry?.baseMs ?? 1000;
  const retryMax = options.retry?.maxMs ?? 30_000;
  const spool: Spool = openSpool({ dir: options.spoolDir, log, maxBytes: options.spoolMaxBytes, segmentBytes: options.spoolSegmentBytes });

  let pending: Entry[] = [];
  let pendingRows = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  /** Outage mode: everything queues in `memory` / the spool until the recovery loop drains them. */
  let outage = false;
  let memory: Buffered[] = [];
  let memRows = 0;
  let recovering: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryAttempt = 0;
  let stopping = false;
  let committedRows = 0;
  let flushes = 0;
  let droppedRows = 0;

  const reachable = async (): Promise<boolean> => {
    try {
      await prisma.$queryRawUnsafe('SELECT 1');
      return true;
    } catch {
      return false;
    }
  };

  /** Moves the memory buffer to the spool, merged into few records (one fsync each). */
  const spill = (): void => {
    if (memory.length === 0) return;
    for (const group of chunks(memory, REPLAY_CHUNK_ROWS)) {
      const rows = group.reduce((n, b) => n + b.rows, 0);
      if (!spool.append(mergeBatches(group.map((b) => b.batch)), rows)) droppedRows += rows;
    }
    memory = [];
    memRows = 0;
  };

  const buffer = (items: Buffered[]): void => {
    for (const it of items) {
      memory.push(it);
      memRows += it.rows;
    }
    if (memRows > memoryRows) {
      log.warn({ rows: memRows, memoryRows }, 'database still unreachable: moving buffered samples to the on-disk spool');
      spill();
    }
  };

  const enterOutage = (entries: Entry[], reason: string): void => {
    if (!outage) log.error({ err: reason }, 'database unreachable: buffering samples until it returns');
    outage = true;
    // Entries queued behind the failed flush are newer: they follow it.
    const all = [...entries, ...pending];
    pending = [];
    pendingRows = 0;
    clearTimeout(timer);
    timer = undefined;
    buffer(all.map((e) => ({ batch: e.batch, rows: e.rows })));
    for (const e of all) e.resolve('deferred');
    scheduleRecovery();
  };

  const flush = async (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const entries = pending;
    pending = [];
    pendingRows = 0;
    flushes++;
    const merged = mergeBatches(entries.map((e) => e.batch));
    const rows = entries.reduce((n, e) => n + e.rows, 0);
    const t0 = performance.now();
    try {
      await write(prisma, merged);
      options.onFlush?.(rows, (performance.now() - t0) / 1000, true);
      committedRows += rows;
      for (const e of entries) e.resolve('committed');
      options.onCommitted?.(merged);
      return;
    } catch (err) {
      options.onFlush?.(rows, (performance.now() - t0) / 1000, false);
      const message = (err as Error).message;
      if (!(await reachable())) {
        enterOutage(entries, message);
        return;
      }
      // Reachable: some batch holds data the database refuses. Find it; keep the others.
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        try {
          await write(prisma, e.batch);
          committedRows += e.rows;
          e.resolve('committed');
          options.onCommitted?.(e.batch);
        } catch (err2) {
          if (!(await reachable())) {
            enterOutage(entries.slice(i), (err2 as Error).message);
            return;
          }
          droppedRows += e.rows;
          log.error({ err: (err2 as Error).message, rows: e.rows }, 'database refused a sample batch; dropping it');
          e.resolve('dropped');
        }
      }
    }
  };

  const runFlush = (): void => {
    if (flushing) return;
    flushing = flush()
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'sample writer failed'))
      .finally(() => {
        flushing = undefined;
        if (pending.length > 0) {
          if (pendingRows >= maxRows) runFlush();
          else timer ??= setTimeout(runFlush, flushMs);
        }
      });
  };

  const writeGroup = async (items: Buffered[]): Promise<void> => {
    await write(prisma, mergeBatches(items.map((b) => b.batch)));
    committedRows += items.reduce((n, b) => n + b.rows, 0);
  };

  /** One pass: spool oldest first, then memory. Throws when the database fails again. */
  const drainOnce = async (): Promise<void> => {
    // A cheap probe first: reading a large spool only to fail on its first write would be waste.
    if (!(await reachable())) throw new Error('database unreachable');
    for (;;) {
      const segment = spool.oldest();
      if (!segment) break;
      const items = segment.batches.map((batch) => ({ batch, rows: batchSize(batch) }));
      for (const group of chunks(items, REPLAY_CHUNK_ROWS)) await writeGroup(group);
      spool.remove(segment.file);
      log.info({ file: segment.file, batches: items.length }, 'replayed a spool segment');
    }
    while (memory.length > 0) {
      // Written in place: if a spill moves them to the spool meanwhile, they are written again from there (idempotent).
      const group = chunks(memory, REPLAY_CHUNK_ROWS)[0]!;
      await writeGroup(group);
      const done = new Set(group);
      const before = memory.length;
      memory = memory.filter((b) => !done.has(b));
      if (memory.length !== before) memRows = memory.reduce((n, b) => n + b.rows, 0);
      if (!spool.isEmpty()) return drainOnce(); // a spill happened: those rows are older than what is left
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
      if (outage) log.info({ committedRows }, 'database reachable again: buffered samples written');
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
      if (outage || stopping) {
        const before = droppedRows;
        buffer([{ batch, rows }]);
        if (stopping) spill();
        return Promise.resolve(droppedRows > before ? 'dropped' : 'deferred');
      }
      return new Promise<WriteResult>((resolve) => {
        pending.push({ batch, rows, resolve });
        pendingRows += rows;
        if (pendingRows >= maxRows) runFlush();
        else timer ??= setTimeout(runFlush, flushMs);
      });
    },

    start() {
      if (!spool.isEmpty()) {
        const s = spool.stats();
        log.info({ records: s.records, bytes: s.bytes }, 'spooled samples from an earlier run: replaying them');
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
      // Outage or not, nothing stays in memory: what was not written is on disk for the next start.
      spill();
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
