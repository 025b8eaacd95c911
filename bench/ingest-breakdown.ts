/**
 * Where the storage write path's time goes (`npx tsx bench/ingest-breakdown.ts [ROWS]`):
 * the same system_metrics rows written by variants that each remove one suspect, alternating,
 * medians of 5, with the client process's CPU per variant. Needs DATABASE_URL (a scratch
 * database is created there) or starts an embedded PostgreSQL under DATA_DIR.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../src/config.ts';
import { createPrismaClient } from '../src/db/index.ts';
import { createLogger } from '../src/log.ts';
import { writeBatch } from '../src/storage/index.ts';
import { copyBinary, copySql, createStagingSql, insertSql, stagingTable } from '../src/storage/staging.ts';
import { systemMetrics, type TableSpec } from '../src/storage/tables.ts';
import { emptyBatch, type SystemMetricsRow } from '../src/storage/types.ts';
import { copySystemRows } from './copy.ts';
import { openBenchDatabase } from './db.ts';
import { systemRowsFor } from './rows.ts';
import { stat } from './stats.ts';
import { arrayLiteral, columnArrays, UNNEST_CHUNK, unnestSql, unnestThroughPrisma } from './unnest.ts';

const config = loadConfig();
const count = Number(process.argv[2] ?? 20_000);
const bench = await openBenchDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, createLogger('warn'));
const { pool, prisma } = bench.db;
const rows = systemRowsFor({ count, devices: 100 });
const noCopy = createPrismaClient(pool, { copyFromStdin: false });
const spec = systemMetrics as TableSpec<unknown>;
const unnest = unnestSql(systemMetrics);

async function inTx(f: (c: pg.PoolClient) => Promise<void>): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await f(c);
    await c.query('COMMIT');
  } finally {
    c.release();
  }
}

const chunks = <T>(all: readonly T[]): T[][] => Array.from({ length: Math.ceil(all.length / UNNEST_CHUNK) }, (_, i) => all.slice(i * UNNEST_CHUNK, (i + 1) * UNNEST_CHUNK));

async function copyToStaging(c: pg.PoolClient, r: readonly unknown[]): Promise<void> {
  await pipeline(Readable.from(copyBinary(spec.columns, r)), c.query(copyFrom(copySql(spec))));
}

const variants: Record<string, { table: string; run(r: SystemMetricsRow[]): Promise<void> }> = {
  'previous writeBatch: UNNEST literals through Prisma': { table: 'system_metrics', run: async (r) => void (await unnestThroughPrisma(prisma, systemMetrics, r)) },
  'previous SQL, plain pg': { table: 'system_metrics', run: (r) => inTx(async (c) => { for (const ch of chunks(r)) await c.query(unnest, columnArrays(systemMetrics, ch).map(arrayLiteral)); }) },
  'writeBatch: COPY to session staging + Prisma INSERT…SELECT': {
    table: 'system_metrics',
    run: async (r) => {
      const b = emptyBatch();
      b.system = r;
      await writeBatch(prisma, b);
    },
  },
  'writeBatch without COPY FROM STDIN: staging from JSON': {
    table: 'system_metrics',
    run: async (r) => {
      const b = emptyBatch();
      b.system = r;
      await writeBatch(noCopy, b);
    },
  },
  'session staging (ON COMMIT DELETE ROWS), plain pg': {
    table: 'system_metrics',
    run: (r) => inTx(async (c) => {
      await c.query(createStagingSql(spec));
      await copyToStaging(c, r);
      await c.query(insertSql([spec]));
    }),
  },
  'staging created per flush (ON COMMIT DROP), plain pg': {
    table: 'system_metrics',
    run: (r) => inTx(async (c) => {
      await c.query(createStagingSql(spec).replace('IF NOT EXISTS ', '').replace(stagingTable(spec), `${stagingTable(spec)}_once`).replace('DELETE ROWS', 'DROP'));
      await pipeline(Readable.from(copyBinary(spec.columns, r)), c.query(copyFrom(copySql(spec).replace(stagingTable(spec), `${stagingTable(spec)}_once`))));
      await c.query(insertSql([spec]).replace(`FROM ${stagingTable(spec)}`, `FROM ${stagingTable(spec)}_once`));
    }),
  },
  'COPY straight into the table': { table: 'system_metrics', run: async (r) => void (await copySystemRows(pool, r)) },
};

const results = new Map<string, { rps: number[]; cpuMs: number[] }>();
for (let round = 0; round < 6; round++) {
  const names = Object.keys(variants);
  const order = round % 2 ? names.reverse() : names;
  for (const name of order) {
    const v = variants[name]!;
    await pool.query(`TRUNCATE ${v.table}`);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await v.run(rows);
    const ms = performance.now() - t0;
    const c1 = process.cpuUsage(c0);
    if (round === 0) continue; // warm-up
    const r = results.get(name) ?? { rps: [], cpuMs: [] };
    r.rps.push(Math.round((count / ms) * 1000));
    r.cpuMs.push((c1.user + c1.system) / 1000);
    results.set(name, r);
  }
}
const copyMedian = stat(results.get('COPY straight into the table')!.rps).median;
console.log(`${count} system_metrics rows, medians of 5 (min–max); load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const [name, r] of results) {
  const s = stat(r.rps);
  const c = stat(r.cpuMs);
  console.log(`${name.padEnd(58)} ${String(s.median).padStart(8)} rows/s (${s.min}–${s.max})  ×${(s.median / copyMedian).toFixed(2)} of COPY   client CPU ${c.median} ms`);
}
await noCopy.$disconnect();
await bench.close();
