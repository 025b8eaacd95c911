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
import { setChildCpuProfileDir, stopLeftoverChildren } from './child.ts';
import { openBenchDatabase, type BenchDatabase } from './db.ts';
import { benchDashboard, chromiumInstalled, type DashboardResult } from './dashboard.ts';
import { benchFanout, benchFanoutScale, type FanoutPoint, type FanoutScale } from './fanout.ts';
import { benchIdle, type IdleResult } from './idle.ts';
import { benchIngest, type IngestResult } from './ingest.ts';
import { machineInfo, type MachineInfo } from './machine.ts';
import { benchMemory, type MemoryResult } from './memory.ts';
import { benchQuery, type QueryResult } from './query.ts';
import { benchPoll, type PollPoint } from './poll.ts';
import { benchSchedule, type ScheduleResult } from './schedule.ts';
import { benchParse, type ParseResult } from './parse.ts';
import { SIZES, type SizeName, type Sizes } from './sizes.ts';
import { fmt, type Stat } from './stats.ts';

export const PARTS = ['parse', 'ingest', 'query', 'poll', 'scale', 'schedule', 'fanout', 'memory', 'dashboard'] as const;
export type Part = (typeof PARTS)[number];

export interface BenchReport {
  version: 1;
  startedAt: string;
  durationSec: number;
  size: SizeName;
  machine: MachineInfo;
  parse?: ParseResult;
  ingest?: IngestResult;
  query?: QueryResult;
  poll?: PollPoint[];
  /** The cost curve: the poll measurement from 100 to 10,000 devices. */
  scale?: PollPoint[];
  /** Polling under API load: the schedule kept or not. */
  schedule?: ScheduleResult;
  fanout?: FanoutPoint[];
  /** Many graphql-ws subscribers on one server at 1 event/s. */
  fanoutScale?: FanoutScale;
  memory?: MemoryResult;
  /** A server with no devices or subscribers, 15 s after start: as started, and through tsx. */
  idle?: IdleResult;
  dashboard?: DashboardResult;
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
  /** Scratch space (spools) under DATA_DIR. */
  dataDir: string;
}

type Runner = (ctx: BenchContext, report: BenchReport) => Promise<void>;

const RUNNERS: Record<Part, Runner> = {
  async parse(ctx, report) {
    const { iterations } = ctx.sizes.parse;
    ctx.progress(`parse: ${iterations} × ${Math.max(ctx.sizes.runs, 5)} full system polls of a 64-CPU/50-NIC/80-disk host (a few seconds)`);
    report.parse = benchParse({ iterations, runs: Math.max(ctx.sizes.runs, 5) });
  },
  async ingest(ctx, report) {
    const { rows, rounds: runs } = ctx.sizes.ingest;
    ctx.progress(`ingest: ${rows} system_metrics rows, storage writeBatch vs COPY vs the previous UNNEST path (Prisma and plain pg), alternating, ${runs} rounds (about ${Math.ceil((rows / 5000) * runs * 4 * 0.5 + 5)} s)`);
    const db = await ctx.database();
    report.ingest = await benchIngest(db.db, { rows, runs });
  },
  async query(ctx, report) {
    const db = await ctx.database();
    report.query = await benchQuery(db, { ...ctx.sizes.query, runs: ctx.sizes.runs, progress: ctx.progress });
  },
  async poll(ctx, report) {
    const db = await ctx.database();
    const p = ctx.sizes.poll;
    const fleets = p.devices.map((devices) => ({ devices, intervalSec: p.intervalSec }));
    report.poll = await benchPoll({ databaseUrl: db.url, dataDir: ctx.dataDir, fleets, runs: ctx.sizes.runs, windowSec: p.windowSec, warmUpSec: p.warmUpSec, part: 'poll', progress: ctx.progress, notes: ctx.notes, checks: true });
  },
  async scale(ctx, report) {
    const db = await ctx.database();
    const s = ctx.sizes.scale;
    report.scale = await benchPoll({ databaseUrl: db.url, dataDir: ctx.dataDir, fleets: s.fleets, runs: ctx.sizes.runs, windowSec: s.windowSec, warmUpSec: s.warmUpSec, part: 'scale', progress: ctx.progress, notes: ctx.notes });
  },
  async schedule(ctx, report) {
    const db = await ctx.database();
    report.schedule = await benchSchedule({ databaseUrl: db.url, dataDir: ctx.dataDir, ...ctx.sizes.schedule, runs: ctx.sizes.runs, progress: ctx.progress });
  },
  async fanout(ctx, report) {
    const db = await ctx.database();
    const f = ctx.sizes.fanout;
    report.fanout = await benchFanout({ databaseUrl: db.url, subscribers: f.subscribers, runs: ctx.sizes.runs, saturationSec: f.saturationSec, latencySec: f.latencySec, latencyRate: f.latencyRate, progress: ctx.progress });
    report.fanoutScale = await benchFanoutScale({ databaseUrl: db.url, subscribers: f.scaleSubscribers, ratePerSec: 1, seconds: f.scaleSec, runs: ctx.sizes.runs, progress: ctx.progress });
  },
  async memory(ctx, report) {
    const db = await ctx.database();
    report.idle = await benchIdle({ databaseUrl: db.url, dataDir: ctx.dataDir, runs: ctx.sizes.runs, log: createLogger('warn'), progress: ctx.progress });
    if (!report.idle.compiled) ctx.notes.push('idle: dist/ is missing or older than src/, so bin/infrapulse.js ran the sources too: run `npm run build` first');
    report.memory = await benchMemory({ databaseUrl: db.url, dataDir: ctx.dataDir, ...ctx.sizes.memory, runs: ctx.sizes.runs, intervalSec: ctx.sizes.poll.intervalSec, progress: ctx.progress });
  },
  async dashboard(ctx, report) {
    if (!chromiumInstalled()) {
      ctx.notes.push('dashboard: not measured: /usr/bin/chromium is not installed (apt-get install chromium)');
      return;
    }
    const db = await ctx.database();
    report.dashboard = await benchDashboard({ databaseUrl: db.url, dataDir: ctx.dataDir, ...ctx.sizes.dashboard, runs: ctx.sizes.runs, log: createLogger('warn'), progress: ctx.progress });
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
    rows.push(row('ingest', 'previous path: UNNEST through Prisma', fmt(i.unnestPrismaRowsPerSec, ' rows/s')));
    rows.push(row('ingest', 'previous path\'s UNNEST SQL, plain pg', fmt(i.plainPgRowsPerSec, ' rows/s')));
    rows.push(row('ingest', 'ratio storage ÷ COPY', fmt(i.ratio), '≥ 0.7'));
    rows.push(row('ingest', 'ratio previous path ÷ COPY', fmt(i.unnestRatio)));
  }
  const q = report.query;
  if (q) {
    rows.push(row('query', `metricHistory 24 h/5 min, ${q.days} d × ${q.historyDevices} devices stored: p99 of ${q.requests} requests`, fmt(q.metricHistoryP99Ms, ' ms'), '< 20 ms'));
    rows.push(row('query', 'metricHistory p50 / slowest request', `${fmt(q.metricHistoryP50Ms, ' ms')} / ${fmt(q.metricHistoryMaxMs, ' ms')}`));
    rows.push(row('query', `devices(first: ${q.listedDevices}) with latestMetrics: p99 of ${q.requests} requests`, fmt(q.deviceListP99Ms, ' ms'), '< 50 ms'));
    rows.push(row('query', 'device list p50 / slowest request', `${fmt(q.deviceListP50Ms, ' ms')} / ${fmt(q.deviceListMaxMs, ' ms')}`));
  }
  for (const p of report.poll ?? []) {
    rows.push(row('poll', `${p.devices} devices every ${p.intervalSec} s: poller CPU per device-poll`, fmt(p.cpuMsPerPoll, ' ms'), '≤ 1 ms'));
    if (p.helperThreadsCpuMsPerPoll) rows.push(row('poll', `${p.devices} devices: of which off the JavaScript thread (V8's GC and compiler, libuv)`, fmt(p.helperThreadsCpuMsPerPoll, ' ms')));
    rows.push(row('poll', `${p.devices} devices: CPU per device-poll in the ${p.warmUpSec} s of warm-up before the windows`, `${p.warmUpCpuMsPerPoll} ms`));
    rows.push(row('poll', `${p.devices} devices: polls/s (scheduled ${p.scheduledPollsPerSec})`, fmt(p.pollsPerSec)));
    rows.push(row('poll', `${p.devices} devices: p99 poll duration`, fmt(p.p99PollMs, ' ms')));
    rows.push(row('poll', `${p.devices} devices: simulator CPU per poll`, fmt(p.simulatorCpuMsPerPoll, ' ms')));
    rows.push(row('poll', `${p.devices} devices: SSH handshakes during the windows`, String(p.handshakesInWindows), '0'));
    const c = p.checks;
    if (c) {
      const statuses = Object.entries(c.statuses).map(([k, v]) => `${k} ${v}`).join(', ');
      rows.push(row('poll', `${p.devices} devices + ${c.checks} checks every ${c.intervalSec} s: poller CPU per check run (${c.checkRuns} runs; ${statuses})`, fmt(c.cpuMsPerCheckRun, ' ms')));
      rows.push(row('poll', `${p.devices} devices + checks: poller CPU per device-poll, checks included`, fmt(c.cpuMsPerPollWithChecks, ' ms')));
    }
  }
  for (const p of report.scale ?? []) {
    const at = `${p.devices} devices every ${p.intervalSec} s`;
    rows.push(row('scale', `${at}: CPU per device-poll / RSS`, `${fmt(p.cpuMsPerPoll, ' ms')} / ${fmt(p.rssMB, ' MB')}`, p.devices >= 10_000 ? '≤ 1 GB' : ''));
    rows.push(row('scale', `${at}: polls/s (scheduled ${p.scheduledPollsPerSec}), p99 poll`, `${fmt(p.pollsPerSec)}, ${fmt(p.p99PollMs, ' ms')}`));
    rows.push(row('scale', `${at}: p99 slot lateness; all ONLINE after`, `${fmt(p.lateP99Ms, ' ms')}; ${p.onlineSec} s`, p.devices >= 10_000 ? '< 1 s' : ''));
  }
  const sc0 = report.schedule;
  if (sc0) {
    const head = `${sc0.devices} devices every ${sc0.intervalSec} s, concurrency ${sc0.maxConcurrent}`;
    for (const [name, ph] of [['quiet', sc0.quiet], [`${sc0.targetQps} q/s`, sc0.loaded]] as const) {
      rows.push(row('schedule', `${head}, ${name}: slots started within 1 s`, fmt(ph.onTimeShare), name === 'quiet' ? '' : '≥ 0.95'));
      rows.push(row('schedule', `${name}: p99 lateness / skipped slots per window`, `${fmt(ph.p99LatenessMs, ' ms')} / ${fmt(ph.skippedSlots)}`));
      rows.push(row('schedule', `${name}: collector run p50 / p99 (slot held), simulator CPU per exec`, `${fmt(ph.collectP50Ms, ' ms')} / ${fmt(ph.collectP99Ms, ' ms')}, ${fmt(ph.simCpuPerExecMs, ' ms')}`));
      rows.push(row('schedule', `${name}: polls_waiting max / event-loop delay p99`, `${fmt(ph.waitingMax)} / ${fmt(ph.loopDelayP99Ms, ' ms')}`));
      rows.push(row('schedule', `${name}: queries/s answered (p99) / refused (503)`, `${fmt(ph.qps)} (${fmt(ph.queryP99Ms, ' ms')}) / ${fmt(ph.refusedQps)}`));
      rows.push(row('schedule', `${name}: load average (1 min) at the window's end`, fmt(ph.load1)));
    }
  }
  for (const f of report.fanout ?? []) {
    const n = f.subscribers;
    rows.push(row('fanout', `${n} subs: graphql delivered msgs/s at saturation`, fmt(f.graphqlEventsPerSec)));
    rows.push(row('fanout', `${n} subs: bare ws delivered msgs/s`, fmt(f.wsEventsPerSec)));
    rows.push(row('fanout', `${n} subs: graphql server CPU per msg`, fmt(f.graphqlServerCpuUsPerMsg, ' µs')));
    rows.push(row('fanout', `${n} subs: bare ws server CPU per msg`, fmt(f.wsServerCpuUsPerMsg, ' µs')));
    rows.push(row('fanout', `${n} subs: ratio ws ÷ graphql CPU`, fmt(f.ratio), '≥ 0.5'));
    rows.push(row('fanout', `${n} subs: graphql p50 / p99 at ${f.latencyRate} ev/s`, `${fmt(f.p50Ms, ' ms')} / ${fmt(f.p99Ms, ' ms')}`, n < 5000 ? 'p99 < 50 ms' : ''));
    rows.push(row('fanout', `${n} subs: bare ws p50 / p99 at ${f.latencyRate} ev/s`, `${fmt(f.wsP50Ms, ' ms')} / ${fmt(f.wsP99Ms, ' ms')}`));
    if (f.p99MsAt1PerSec) rows.push(row('fanout', `${n} subs: p99 at 1 ev/s graphql / ws`, `${fmt(f.p99MsAt1PerSec, ' ms')} / ${fmt(f.wsP99MsAt1PerSec, ' ms')}`, 'p99 < 200 ms'));
    rows.push(row('fanout', `${n} subs: RSS per subscriber graphql / ws`, `${fmt(f.rssPerSubscriberKB, ' KB')} / ${fmt(f.wsRssPerSubscriberKB, ' KB')}`, '≤ 25 KB'));
    rows.push(row('fanout', `${n} subs: graphql p99 with one stalled subscriber / without, adjacent; change`, `${fmt(f.stalledP99Ms, ' ms')} / ${fmt(f.stalledBaseP99Ms, ' ms')}; ${fmt(f.stalledP99Change)}`, '< 0.1'));
    if (f.distinctServerCpuUsPerMsg) rows.push(row('fanout', `${n} subs, each its own subscription (${n} groups): graphql server CPU per msg; msgs/s`, `${fmt(f.distinctServerCpuUsPerMsg, ' µs')}; ${fmt(f.distinctEventsPerSec)}`));
  }
  const sc = report.fanoutScale;
  if (sc) {
    rows.push(row('fanout', `${sc.connected} of ${sc.subscribers} graphql-ws subs at ${sc.ratePerSec} ev/s: delivered share`, fmt(sc.deliveredShare), '1'));
    rows.push(row('fanout', `${sc.connected} subs at ${sc.ratePerSec} ev/s: p50 / p99`, `${fmt(sc.p50Ms, ' ms')} / ${fmt(sc.p99Ms, ' ms')}`));
  }
  const idle = report.idle;
  if (idle) rows.push(row('memory', 'idle server RSS 15 s after start: as started / through tsx', `${fmt(idle.rssMB, ' MB')} / ${fmt(idle.sourcesRssMB, ' MB')}`, '< 100 MB'));
  const mem = report.memory;
  if (mem) rows.push(row('memory', `server+poller RSS, ${mem.devices} devices polled, ${mem.subscribers} subscribers`, fmt(mem.rssMB, ' MB'), '< 300 MB'));
  if (mem) rows.push(row('memory', 'the same as it runs, before each forced GC', fmt(mem.runningRssMB, ' MB')));
  if (mem) rows.push(row('memory', `polls/s (scheduled ${mem.scheduledPollsPerSec}); rows waiting for the writer, most`, `${mem.pollsPerSec}; ${mem.writerQueuedRowsMax}`, 'keeps up'));
  if (mem) rows.push(row('memory', 'its CPU: cores used; its JavaScript thread busy', `${mem.processCores}; ${mem.mainThreadBusy === null ? 'n/a' : `${Math.round(mem.mainThreadBusy * 100)} %`}`));
  const d = report.dashboard;
  if (d) {
    rows.push(row('dashboard', `first load of / to the first rows, ${d.devices} devices`, fmt(d.firstRowsMs, ' ms'), '< 1000 ms'));
    rows.push(row('dashboard', `first load to all ${d.devices} devices listed`, fmt(d.allDevicesMs, ' ms')));
    rows.push(row('dashboard', 'JS shipped, gzip: first load / every page', `${d.jsGzipKB} KB / ${d.allJsGzipKB} KB`, '< 250 KB'));
    rows.push(row('dashboard', `tasks > 50 ms (long-task observer), ${d.samplesPerSec} samples/s for ${d.windowSec} s`, fmt(d.longTasksOver50), '0'));
    rows.push(row('dashboard', 'longest main-thread task: wall clock / CPU', `${fmt(d.maxLongTaskMs, ' ms')} / ${fmt(d.maxTaskCpuMs, ' ms')}`, '≤ 50 ms'));
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  for (const n of report.notes) out.push(`note: ${n}`);
  const m = report.machine;
  const guest = [m.virtualised ? 'a virtual machine' : '', m.pageTableIsolation ? 'kernel page-table isolation on' : ''].filter(Boolean).join(', ');
  out.push(`machine: ${m.nproc} cores (${m.cpuModel}${guest ? `; ${guest}` : ''}), ${m.memTotalGB} GB, node ${m.node}; load average ${m.loadavgStart.join(' ')} at start, ${m.loadavgEnd?.join(' ') ?? '?'} at end`);
  return out.join('\n');
}

export async function runBench(argv: string[], overrides: BenchOverrides = {}): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, size: { type: 'string' }, 'cpu-prof': { type: 'string' }, out: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    process.stderr.write(`infrapulse bench: ${(e as Error).message}\nusage: infrapulse bench [--quick] [--out FILE] [--only ${PARTS.join(',')}] [--size full|quick|tiny] [--cpu-prof DIR]\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`usage: infrapulse bench [--quick] [--out FILE] [--only ${PARTS.join(',')}] [--size full|quick|tiny] [--cpu-prof DIR]\n`);
    return 0;
  }
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...PARTS];
  const unknown = only.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length) {
    process.stderr.write(`infrapulse bench: unknown part(s) ${unknown.join(', ')}; parts are ${PARTS.join(', ')}\n`);
    return 2;
  }
  const config = loadConfig();
  if (values['cpu-prof']) {
    fs.mkdirSync(values['cpu-prof'], { recursive: true });
    setChildCpuProfileDir(path.resolve(values['cpu-prof']));
  }
  if (values.size !== undefined && !(values.size in SIZES)) {
    process.stderr.write(`infrapulse bench: --size must be one of ${Object.keys(SIZES).join(', ')}\n`);
    return 2;
  }
  const size: SizeName = overrides.size ?? (values.size as SizeName | undefined) ?? (values.quick ? 'quick' : 'full');
  const progress = overrides.progress ?? ((l: string) => process.stdout.write(`bench: ${l}\n`));
  const log = createLogger('warn');
  const started = Date.now();
  const report: BenchReport = { version: 1, startedAt: new Date(started).toISOString(), durationSec: 0, size, machine: machineInfo(), notes: [] };
  let db: BenchDatabase | undefined;
  const ctx: BenchContext = {
    sizes: SIZES[size],
    progress,
    notes: report.notes,
    dataDir: config.dataDir,
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
      const left = await stopLeftoverChildren();
      if (left > 0) progress(`${part}: stopped ${left} child process${left === 1 ? '' : 'es'} it left running`);
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
