/**
 * ingest: the storage module's write path (writeBatch: COPY into a staging table, then a
 * Prisma raw INSERT … SELECT) against COPY FROM STDIN of the same rows straight into the same
 * table, alternating in one run so all see the same machine load; the table is emptied
 * (untimed) before each write. The previous write path (UNNEST through Prisma, bench/unnest.ts)
 * and its SQL sent through plain pg are measured beside them.
 */
import type { Database } from '../src/db/index.ts';
import { writeBatch } from '../src/storage/index.ts';
import { systemMetrics } from '../src/storage/tables.ts';
import { emptyBatch, type SystemMetricsRow } from '../src/storage/types.ts';
import { copySystemRows } from './copy.ts';
import { systemRowsFor } from './rows.ts';
import { arrayLiteral, columnArrays, UNNEST_CHUNK, unnestSql, unnestThroughPrisma } from './unnest.ts';
import { round, stat, type Stat } from './stats.ts';

export interface IngestResult {
  rows: number;
  storageRowsPerSec: Stat;
  copyRowsPerSec: Stat;
  /** storage ÷ COPY, per alternating pair. */
  ratio: Stat;
  /** The previous write path's UNNEST SQL sent with pool.query (no Prisma). */
  plainPgRowsPerSec: Stat;
  /** The previous write path (UNNEST through Prisma, until 2026-12-02), same run. */
  unnestPrismaRowsPerSec: Stat;
  /** The previous write path ÷ COPY, per alternating round. */
  unnestRatio: Stat;
}

type Writer = (rows: SystemMetricsRow[]) => Promise<number>;

export async function benchIngest(db: Pick<Database, 'prisma' | 'pool'>, { rows: count = 20_000, runs = 5 }: { rows?: number; runs?: number } = {}): Promise<IngestResult> {
  const rows = systemRowsFor({ count, devices: 100 });
  const sql = unnestSql(systemMetrics);
  const writers: Record<'storage' | 'copy' | 'plainPg' | 'unnestPrisma', Writer> = {
    storage: (r) => {
      const batch = emptyBatch();
      batch.system = r;
      return writeBatch(db.prisma, batch);
    },
    copy: (r) => copySystemRows(db.pool, r),
    unnestPrisma: (r) => unnestThroughPrisma(db.prisma, systemMetrics, r),
    plainPg: async (r) => {
      // Chunked like the old writeBatch, in one transaction like it.
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        let n = 0;
        for (let i = 0; i < r.length; i += UNNEST_CHUNK) n += (await client.query(sql, columnArrays(systemMetrics, r.slice(i, i + UNNEST_CHUNK)).map(arrayLiteral))).rowCount ?? 0;
        await client.query('COMMIT');
        return n;
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      } finally {
        client.release();
      }
    },
  };
  const timeOne = async (w: Writer): Promise<number> => {
    await db.pool.query('TRUNCATE system_metrics');
    const t0 = performance.now();
    const written = await w(rows);
    const s = (performance.now() - t0) / 1000;
    if (written !== rows.length) throw new Error(`wrote ${written} of ${rows.length} rows`);
    return rows.length / s;
  };
  // One untimed round warms connections, plans and JIT.
  for (const w of Object.values(writers)) await timeOne(w);
  const per = { storage: [] as number[], copy: [] as number[], plainPg: [] as number[], unnestPrisma: [] as number[], ratio: [] as number[], unnestRatio: [] as number[] };
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first so neither always follows the other's autovacuum/checkpoint.
    const order = i % 2 ? (['copy', 'storage', 'unnestPrisma', 'plainPg'] as const) : (['storage', 'copy', 'plainPg', 'unnestPrisma'] as const);
    const got: Partial<Record<keyof typeof writers, number>> = {};
    for (const k of order) got[k] = await timeOne(writers[k]);
    per.storage.push(got.storage!);
    per.copy.push(got.copy!);
    per.plainPg.push(got.plainPg!);
    per.unnestPrisma.push(got.unnestPrisma!);
    per.ratio.push(got.storage! / got.copy!);
    per.unnestRatio.push(got.unnestPrisma! / got.copy!);
  }
  await db.pool.query('TRUNCATE system_metrics');
  return {
    rows: count,
    storageRowsPerSec: stat(per.storage.map(Math.round)),
    copyRowsPerSec: stat(per.copy.map(Math.round)),
    ratio: stat(per.ratio.map(round)),
    plainPgRowsPerSec: stat(per.plainPg.map(Math.round)),
    unnestPrismaRowsPerSec: stat(per.unnestPrisma.map(Math.round)),
    unnestRatio: stat(per.unnestRatio.map(round)),
  };
}
