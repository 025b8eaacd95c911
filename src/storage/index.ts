/**
 * The only writer and reader of the time-series tables. Writes: one UNNEST insert per table
 * per batch through Prisma's $executeRaw. Reads: the latest rows for many devices in one
 * query (a LATERAL probe of the (device_id, time DESC) index per device), and bucketed history.
 */
import type { PrismaClient } from '../db/generated/client.ts';
import { columnLiterals, insertSql, TABLES, type InsertedGroup, type TableSpec } from './tables.ts';
import type { SampleBatch } from './types.ts';

export * from './types.ts';

/** Rows per statement: bounded so one huge batch cannot hold a connection or memory for long. */
const CHUNK = 5000;

const INSERTS = Object.fromEntries(Object.entries(TABLES).map(([k, spec]) => [k, insertSql(spec as TableSpec<unknown>)])) as Record<keyof SampleBatch, string>;

export function batchSize(batch: SampleBatch): number {
  let n = 0;
  for (const key of Object.keys(TABLES) as (keyof SampleBatch)[]) n += batch[key].length;
  return n;
}

/** Ingest sequence numbers of a written batch: per table, per `${deviceId} ${time ms}`, the highest one. */
export type BatchSequences = { [K in keyof SampleBatch]: Map<string, number> };

const sequences = new WeakMap<SampleBatch, BatchSequences>();

export const sequenceKey = (deviceId: string, time: Date | string): string => `${deviceId} ${new Date(time).getTime()}`;

/**
 * The sequence numbers writeBatch got for this batch object's rows (undefined when it was not
 * written by writeBatch). A (device, time) missing from its table's map was not inserted:
 * it was stored already.
 */
export function batchSequences(batch: SampleBatch): BatchSequences | undefined {
  return sequences.get(batch);
}

/** Writes every row of the batch in one transaction; returns the number of rows inserted. */
export async function writeBatch(prisma: PrismaClient, batch: SampleBatch): Promise<number> {
  const statements = [];
  const keys: (keyof SampleBatch)[] = [];
  for (const key of Object.keys(TABLES) as (keyof SampleBatch)[]) {
    const rows = batch[key] as unknown[];
    const spec = TABLES[key] as TableSpec<unknown>;
    for (let i = 0; i < rows.length; i += CHUNK) {
      statements.push(prisma.$queryRawUnsafe<InsertedGroup[]>(INSERTS[key], ...columnLiterals(spec, rows.slice(i, i + CHUNK))));
      keys.push(key);
    }
  }
  if (statements.length === 0) return 0;
  const answers = statements.length === 1 ? [await statements[0]!] : await prisma.$transaction(statements);
  const seqs = Object.fromEntries(Object.keys(TABLES).map((k) => [k, new Map<string, number>()])) as BatchSequences;
  let inserted = 0;
  answers.forEach((groups, i) => {
    for (const g of groups) {
      inserted += g.n;
      if (g.seq !== null) seqs[keys[i]!].set(`${g.device_id} ${g.ms}`, g.seq);
    }
  });
  sequences.set(batch, seqs);
  return inserted;
}

export { latestRows, type LatestRows } from './latest.ts';
export { systemHistory, chooseSource, effectiveBucketSeconds, defaultBucketSeconds, HISTORY_METRICS, MAX_POINTS, type MetricBucket, type HistoryMetric, type Stat } from './history.ts';
