/**
 * `infrapulse bench [--quick] [--out FILE] [--only parse,ingest,…]`: the benchmark suite.
 * Prints progress and a table, writes JSON (default DATA_DIR/bench-<timestamp>.json).
 *
 * JSON format: every figure is a Stat `{ median, min, max, runs }` over `runs` repetitions;
 * counts that are settings (rows, devices, subscribers) are plain numbers. A part that could
 * not be measured is absent, with the reason in `notes`. See docs/benchmarks.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { openBenchDatabase, type BenchDatabase } from './db.ts';
import { benchIngest, type IngestResult } from './ingest.ts';
import { machineInfo, type MachineInfo } from './machine.ts';
import { benchParse, type ParseResult } from './parse.ts';
import { SIZES, type SizeName, type Sizes } from './sizes.ts';
import { fmt, type Stat } from './stats.ts';

export const PARTS = ['parse', 'ingest', 'query', 'poll', 'fanout', 'memory'] as const;
export type Part = (typeof PARTS)[number];

export interface BenchReport {
  version: 1;
  startedAt: string;
  durationSec: number;
  size: SizeName;
  machine: MachineInfo;
  parse?: ParseResult;
  ingest?: IngestResult;
  query?: unknown;
  poll?: unknown[];
  fanout?: unknown[];
  memory?: unknown;
  /** Why a part is missing or what limits a figure. */
  notes: string[];
}

export interface BenchOverrides {
  /** A PostgreSQL server on which a scratch database is created (tests); else DATABASE_URL or embedded. */
  databaseUrl?: string;
  size?: SizeName;
  progress?: (line: string) => void;
}

export interface BenchContext {
  sizes: Sizes;
  progress: (line: string) => void;
  database(): Promise<BenchDatabase>;
  notes: string[];
}

type Runner = (ctx: BenchContext, report: BenchReport) => Promise<void>;

const RUNNERS: Record<Part, Runner> = {
  async parse(ctx, report) {
    const { iterations } = ctx.sizes.parse;
    ctx.progress(`parse: ${iterations} × ${ctx.sizes.runs} full system polls of a 64-CPU/50-NIC/80-disk host (a few seconds)`);
    report.parse = benchParse({ iterations, runs: Math.max(ctx.sizes.runs, 5) });
  },
  async ingest(ctx, report) {
    const { rows } = ctx.sizes.ingest;
    const runs = Math.max(ctx.sizes.runs, 5);
    ctx.progress(`ingest: ${rows} system_metrics rows, storage writeBatch vs COPY vs plain pg, alternating, ${runs} rounds (about ${Math.ceil((rows / 5000) * runs * 3 * 0.5 + 5)} s)`);
    const db = await ctx.database();
    report.ingest = await benchIngest(db.db, { rows, runs });
  },
  async query(ctx) {
    ctx.notes.push('query: not wired yet');
  },
  async poll(ctx) {
    ctx.notes.push('poll: not wired yet');
  },
  async fanout(ctx) {
    ctx.notes.push('fanout: not wired yet');
  },
  async memory(ctx) {
    ctx.notes.push('memory: not wired yet');
  },
};

function row(part: string, figure: string, value: string, target = ''): string[] {
  return [part, figure, value, target];
}

export function table(report: BenchReport): string {
  const rows: string[][] = [row('part', 'figure', 'median (min–max)', 'target')];
  const p = report.parse;
  if (p) rows.push(row('parse', `system poll, ${p.host.cpus} CPUs/${p.host.interfaces} NICs/${p.host.disks} disks`, fmt(p.systemPollParseUs, ' µs')));
  const i = report.ingest;
  if (i) {
    rows.push(row('ingest', `storage writeBatch, ${i.rows} rows`, fmt(i.storageRowsPerSec, ' rows/s')));
    rows.push(row('ingest', 'COPY FROM STDIN', fmt(i.copyRowsPerSec, ' rows/s')));
    rows.push(row('ingest', 'same UNNEST SQL, plain pg', fmt(i.plainPgRowsPerSec, ' rows/s')));
    rows.push(row('ingest', 'ratio storage ÷ COPY', fmt(i.ratio), '≥ 0.7'));
  }
  for (const r of extraRows) rows.push(...r(report));
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  for (const n of report.notes) out.push(`note: ${n}`);
  const m = report.machine;
  out.push(`machine: ${m.nproc} cores (${m.cpuModel}), ${m.memTotalGB} GB, node ${m.node}; load average ${m.loadavgStart.join(' ')} at start, ${m.loadavgEnd?.join(' ') ?? '?'} at end`);
  return out.join('\n');
}

/** Table rows contributed by the parts in other modules. */
const extraRows: ((r: BenchReport) => string[][])[] = [];
export function addTableRows(f: (r: BenchReport) => string[][]): void {
  extraRows.push(f);
}

export async function runBench(argv: string[], overrides: BenchOverrides = {}): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    process.stderr.write(`infrapulse bench: ${(e as Error).message}\nusage: infrapulse bench [--quick] [--out FILE] [--only ${PARTS.join(',')}]\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`usage: infrapulse bench [--quick] [--out FILE] [--only ${PARTS.join(',')}]\n`);
    return 0;
  }
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...PARTS];
  const unknown = only.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length) {
    process.stderr.write(`infrapulse bench: unknown part(s) ${unknown.join(', ')}; parts are ${PARTS.join(', ')}\n`);
    return 2;
  }
  const config = loadConfig();
  const size: SizeName = overrides.size ?? (values.quick ? 'quick' : 'full');
  const progress = overrides.progress ?? ((l: string) => process.stdout.write(`bench: ${l}\n`));
  const log = createLogger('warn');
  const started = Date.now();
  const report: BenchReport = { version: 1, startedAt: new Date(started).toISOString(), durationSec: 0, size, machine: machineInfo(), notes: [] };
  let db: BenchDatabase | undefined;
  const ctx: BenchContext = {
    sizes: SIZES[size],
    progress,
    notes: report.notes,
    async database() {
      if (!db) {
        progress(overrides.databaseUrl ?? config.databaseUrl ? 'database: a scratch database on the configured PostgreSQL' : 'database: starting an embedded PostgreSQL under DATA_DIR');
        db = await openBenchDatabase({ databaseUrl: overrides.databaseUrl ?? config.databaseUrl, dataDir: config.dataDir }, log);
      }
      return db;
    },
  };
  progress(`${size} run of ${only.join(', ')} on ${os.availableParallelism()} cores (load average ${report.machine.loadavgStart.join(' ')})`);
  let failed = false;
  try {
    for (const part of PARTS) {
      if (!only.includes(part)) continue;
      const t0 = Date.now();
      try {
        await RUNNERS[part](ctx, report);
        progress(`${part}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } catch (e) {
        failed = true;
        report.notes.push(`${part}: failed: ${(e as Error).message}`);
        progress(`${part}: FAILED: ${(e as Error).stack ?? String(e)}`);
      }
    }
  } finally {
    await db?.close();
  }
  report.machine.loadavgEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  report.durationSec = Math.round((Date.now() - started) / 100) / 10;
  const out = values.out ?? path.join(config.dataDir, `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${table(report)}\n\nwrote ${out} (${report.durationSec} s)\n`);
  return failed ? 1 : 0;
}

export type { Stat };
