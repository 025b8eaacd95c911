/**
 * Where the storage write path's time goes (`npx tsx bench/ingest-breakdown.ts [ROWS]`):
 * the same system_metrics rows written by variants that each remove one suspect, alternating,
 * medians of 5, with the client process's CPU per variant. Needs DATABASE_URL (a scratch
 * database is created there) or starts an embedded PostgreSQL under DATA_DIR.
 */
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { writeBatch } from '../src/storage/index.ts';
import { columnArrays, insertSql, systemMetrics } from '../src/storage/tables.ts';
import { emptyBatch, type SystemMetricsRow } from '../src/storage/types.ts';
import { copySystemRows } from './copy.ts';
import { openBenchDatabase } from './db.ts';
import { systemRowsFor } from './rows.ts';
import { stat } from './stats.ts';

const config = loadConfig();
const count = Number(process.argv[2] ?? 20_000);
const bench = await openBenchDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, createLogger('warn'));
const { pool, prisma } = bench.db;
const rows = systemRowsFor({ count, devices: 100 });
const CHUNK = 5000;
const sql = insertSql(systemMetrics);
await pool.query('CREATE TABLE IF NOT EXISTS bench_noindex (LIKE system_metrics INCLUDING DEFAULTS)');

/** pg's own array serialisation, as pool.query applies it to each parameter. */
const prepare = (pg as unknown as { utils?: { prepareValue(v: unknown): unknown } }).utils;

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

const chunks = <T>(all: readonly T[]): T[][] => Array.from({ length: Math.ceil(all.length / CHUNK) }, (_, i) => all.slice(i * CHUNK, (i + 1) * CHUNK));

/** Hand-built array literals: numbers unquoted, text quoted only where needed. */
function literal(values: unknown[]): string {
  let s = '{';
  for (let i = 0; i < values.length; i++) {
    if (i) s += ',';
    const v = values[i];
    if (v === null || v === undefined) s += 'NULL';
    else if (typeof v === 'number' || typeof v === 'boolean') s += String(v);
    else s += `"${String(v).replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${s}}`;
}

const variants: Record<string, { table: string; run(r: SystemMetricsRow[]): Promise<void> }> = {
  'Prisma, JS arrays (writeBatch before 2026-11-27)': {
    table: 'system_metrics',
    run: async (r) => {
      await prisma.$transaction(chunks(r).map((ch) => prisma.$executeRawUnsafe(sql, ...columnArrays(systemMetrics, ch))));
    },
  },
  'writeBatch (Prisma $executeRawUnsafe)': {
    table: 'system_metrics',
    run: async (r) => {
      const b = emptyBatch();
      b.system = r;
      await writeBatch(prisma, b);
    },
  },
  'same SQL, plain pg': { table: 'system_metrics', run: (r) => inTx(async (c) => { for (const ch of chunks(r)) await c.query(sql, columnArrays(systemMetrics, ch)); }) },
  'same SQL, plain pg, hand-built literals': { table: 'system_metrics', run: (r) => inTx(async (c) => { for (const ch of chunks(r)) await c.query(sql, columnArrays(systemMetrics, ch).map(literal)); }) },
  'Prisma, hand-built literals': {
    table: 'system_metrics',
    run: async (r) => {
      await prisma.$transaction(chunks(r).map((ch) => prisma.$executeRawUnsafe(sql, ...columnArrays(systemMetrics, ch).map(literal))));
    },
  },
  'plain pg, no ON CONFLICT': { table: 'system_metrics', run: (r) => inTx(async (c) => { for (const ch of chunks(r)) await c.query(sql.replace(' ON CONFLICT DO NOTHING', ''), columnArrays(systemMetrics, ch)); }) },
  'plain pg, table without the unique index': { table: 'bench_noindex', run: (r) => inTx(async (c) => { for (const ch of chunks(r)) await c.query(sql.replace('INSERT INTO system_metrics', 'INSERT INTO bench_noindex').replace(' ON CONFLICT DO NOTHING', ''), columnArrays(systemMetrics, ch)); }) },
  'COPY': { table: 'system_metrics', run: async (r) => void (await copySystemRows(pool, r)) },
  'COPY, table without the unique index': {
    table: 'bench_noindex',
    run: async (r) => {
      const c = await pool.connect();
      c.release();
      await copySystemRows(pool, r, 2000, 'bench_noindex');
    },
  },
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
// JS-side only: building the column arrays and pg's serialisation of them, no database.
const js: number[] = [];
const lit: number[] = [];
const cpuMs = (f: () => void): number => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
for (let i = 0; i < 5; i++) {
  js.push(cpuMs(() => { for (const ch of chunks(rows)) for (const a of columnArrays(systemMetrics, ch)) prepare?.prepareValue(a); }));
  lit.push(cpuMs(() => { for (const ch of chunks(rows)) for (const a of columnArrays(systemMetrics, ch)) literal(a); }));
}
const copyMedian = stat(results.get('COPY')!.rps).median;
console.log(`${count} system_metrics rows, chunks of ${CHUNK}, medians of 5 (min–max); load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const [name, r] of results) {
  const s = stat(r.rps);
  const c = stat(r.cpuMs);
  console.log(`${name.padEnd(50)} ${String(s.median).padStart(8)} rows/s (${s.min}–${s.max})  ×${(s.median / copyMedian).toFixed(2)} of COPY   client CPU ${c.median} ms`);
}
console.log(`${'JS only: columnArrays + pg prepareValue'.padEnd(50)} ${stat(js).median} ms CPU for ${count} rows`);
console.log(`${'JS only: columnArrays + hand-built literals'.padEnd(50)} ${stat(lit).median} ms CPU for ${count} rows`);
await pool.query('DROP TABLE bench_noindex');
await bench.close();
