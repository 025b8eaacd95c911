/**
 * The only writer and reader of the time-series tables. Writes: per flush, one transaction on
 * one connection that, per table with rows, COPYs them into the session's staging table and
 * moves them into the hypertable with one Prisma raw INSERT … SELECT (staging.ts). Reads: the
 * latest rows for many devices in one query (a LATERAL probe of the (device_id, time DESC)
 * index per device), and bucketed history.
 */
import type pg from 'pg';
import { onTransactionConnection } from '../db/adapter.ts';
import type { PrismaClient } from '../db/generated/client.ts';
import { copyBinary, copySql, createStagingSql, insertSql, populateStagingSql, stagingJson, type Inserted, type InsertedGroup } from './staging.ts';
import { TABLES, type TableSpec } from './tables.ts';
import type { SampleBatch } from './types.ts';

export * from './types.ts';

/**
 * A flush holds its connection for as long as its COPYs and INSERTs take (a 50,000-row
 * replay chunk: about a second on a busy machine); Prisma's default of 5 s is too short for a
 * slow disk, and a flush that never ends would stop the writer, so it is bounded anyway.
 */
const TRANSACTION = { maxWait: 10_000, timeout: 120_000 };

/** A table's staging statements, built once from its description. */
export interface Plan {
  spec: TableSpec<unknown>;
  create: string;
  copy: string;
  populate: string;
}

export function planOf(spec: TableSpec<unknown>): Plan {
  return { spec, create: createStagingSql(spec), copy: copySql(spec), populate: populateStagingSql(spec) };
}

/** The INSERT for each set of tables a flush has touched, built once per set (at most 2^tables, in practice a handful). */
const inserts = new Map<string, string>();
function insertFor(plans: readonly Plan[]): string {
  const key = plans.map((p) => p.spec.table).join(' ');
  let sql = inserts.get(key);
  if (sql === undefined) inserts.set(key, (sql = insertSql(plans.map((p) => p.spec))));
  return sql;
}

const PLANS = (Object.keys(TABLES) as (keyof SampleBatch)[]).map((key) => ({ key, ...planOf(TABLES[key] as TableSpec<unknown>) }));

/** Per pool connection: the staging tables a committed transaction created on it. */
const staged = new WeakMap<pg.PoolClient, Set<string>>();

const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

/**
 * COPY … FROM STDIN as one socket write: the statement, every CopyData message and CopyDone
 * are sent together instead of after the server's CopyInResponse, which pg-copy-streams waited
 * for before writing each chunk as two writes and CopyDone as a third. Socket writes were 15 %
 * of a 1,000-device poller's CPU, a fifth of them these (docs/benchmarks.md, "Memory malloc
 * keeps, and the COPY's writes"). PostgreSQL reads the messages in order; when the statement
 * fails, it ignores the CopyData and CopyDone that follow (postgres.c: "we probably got here
 * because a COPY failed, and the frontend is still sending data"), as it did when a row failed
 * half-way. The rows are encoded before anything is sent: a row that cannot be encoded throws
 * here and the transaction rolls back.
 */
class CopyIn implements pg.Submittable {
  readonly done: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: Error) => void };

  constructor(
    private readonly text: string,
    private readonly chunks: readonly Buffer[],
  ) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }

  submit(connection: pg.Connection): void {
    const socket = connection.stream;
    socket.cork();
    connection.query(this.text);
    for (const chunk of this.chunks) {
      const header = Buffer.allocUnsafe(5);
      header[0] = 0x64; // CopyData
      header.writeUInt32BE(chunk.length + 4, 1);
      socket.write(header);
      socket.write(chunk);
    }
    socket.write(COPY_DONE);
    socket.uncork();
  }

  /** pg calls both; the rows went out with the statement, and the INSERT that follows counts them. */
  handleCopyInResponse(): void {}
  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.settle.resolve();
  }

  handleError(err: Error): void {
    this.settle.reject(err);
  }

  /** pg replaces it to clear its query_timeout. */
  callback(): void {}
}

async function copyRows(client: pg.PoolClient, plan: Plan, rows: readonly unknown[]): Promise<void> {
  await client.query(new CopyIn(plan.copy, copyBinary(plan.spec.columns, rows))).done;
}

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

/**
 * Writes every row of the batch in one transaction; returns the number of rows inserted.
 * Statements: BEGIN, per table with rows a COPY into its staging table, one INSERT … SELECT
 * for all of them (the hypertables' write, a Prisma raw statement), COMMIT; on a connection's
 * first flush also one multi-statement CREATE of the staging tables it lacks. At most
 * tables + 4.
 */
export async function writeBatch(prisma: PrismaClient, batch: SampleBatch): Promise<number> {
  const work = PLANS.filter((p) => batch[p.key].length > 0);
  if (work.length === 0) return 0;
  const answers = await writeTables(prisma, work.map((plan) => ({ plan, rows: batch[plan.key] })));
  const seqs = Object.fromEntries(Object.keys(TABLES).map((k) => [k, new Map<string, number>()])) as BatchSequences;
  let inserted = 0;
  answers.forEach((answer, i) => {
    inserted += answer.n;
    const map = seqs[work[i]!.key];
    for (const [deviceId, ms, seq] of JSON.parse(answer.groups) as InsertedGroup[]) if (seq !== null) map.set(`${deviceId} ${ms}`, seq);
  });
  sequences.set(batch, seqs);
  return inserted;
}

/**
 * The flush itself, for any tables: one transaction on the connection Prisma's adapter took,
 * per table a COPY into its staging table (created on the connection's first use), then one
 * Prisma raw INSERT … SELECT for all of them; answers per table in the order given.
 */
export async function writeTables(prisma: PrismaClient, work: readonly { plan: Plan; rows: readonly unknown[] }[]): Promise<Inserted[]> {
  let created: { client: pg.PoolClient; tables: string[] } | undefined;
  const answers = await onTransactionConnection(
    prisma,
    async (tx, { client, copyFromStdin }) => {
      const have = staged.get(client);
      const missing = work.filter(({ plan }) => !have?.has(plan.spec.table));
      if (missing.length > 0) {
        await client.query(missing.map(({ plan }) => plan.create).join(';\n'));
        created = { client, tables: missing.map(({ plan }) => plan.spec.table) };
      }
      for (const { plan, rows } of work) {
        if (copyFromStdin) await copyRows(client, plan, rows);
        else await client.query(plan.populate, [stagingJson(plan.spec.columns, rows)]);
      }
      const answers = await tx.$queryRawUnsafe<(Inserted & { i: number })[]>(insertFor(work.map((w) => w.plan)));
      return work.map((_, i) => {
        const answer = answers.find((a) => a.i === i);
        if (!answer) throw new Error(`the flush's INSERT gave no answer for table ${work[i]!.plan.spec.table}`);
        return { n: answer.n, groups: answer.groups };
      });
    },
    TRANSACTION,
  );
  // Only now: a CREATE in a transaction that rolled back left no table behind.
  if (created) {
    const set = staged.get(created.client) ?? new Set<string>();
    for (const t of created.tables) set.add(t);
    staged.set(created.client, set);
  }
  return answers;
}

export { latestRows, type LatestRows } from './latest.ts';
export { systemHistory, chooseSource, effectiveBucketSeconds, defaultBucketSeconds, HISTORY_METRICS, MAX_POINTS, type MetricBucket, type HistoryMetric, type Stat } from './history.ts';
