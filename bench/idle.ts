/**
 * idle: RSS of `infrapulse serve` with no devices and no subscribers, fifteen seconds after
 * start (the measure), as a user starts it: `bin/infrapulse.js`, which runs the
 * compiled dist/ (scripts/build.ts, npm ci's prepare). Beside it, in the same run, the same
 * server from the sources through tsx, which is what every start did before dist/ existed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../src/log.ts';
import { compiledIsFresh } from '../bin/fresh.js';
import { openBenchDatabase } from './db.ts';
import { stat, type Stat } from './stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SETTLE_MS = 15_000;

export interface IdleResult {
  /** bin/infrapulse.js serve: dist/ when its build is fresh. */
  rssMB: Stat;
  /** node --import tsx src/cli.ts serve: the same server transpiled at run time. */
  sourcesRssMB: Stat;
  /** Whether bin/infrapulse.js ran the build (false: dist/ was missing or older than src/). */
  compiled: boolean;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

function rssOf(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line.split(/\s+/)[1]) / 1024;
}

const answers = (port: number) =>
  fetch(`http://127.0.0.1:${port}/healthz`).then(
    (r) => r.ok,
    () => false,
  );

/** Starts one server, waits until it answers /healthz, and reads its RSS SETTLE_MS later. */
async function idleRss(args: string[], databaseUrl: string, dataDir: string): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => void (stderr = (stderr + b.toString()).slice(-2000)));
  try {
    const until = Date.now() + 120_000;
    while (!(await answers(port))) {
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${stderr.trim()}`);
      if (Date.now() > until) throw new Error(`the server did not answer /healthz within 120 s: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    if (!(await answers(port))) throw new Error(`the server stopped answering /healthz: ${stderr.trim()}`);
    return rssOf(child.pid!);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

export async function benchIdle(o: { databaseUrl: string; dataDir: string; runs: number; log: Logger; progress: (l: string) => void }): Promise<IdleResult> {
  o.progress(`idle: RSS of a server with no devices ${SETTLE_MS / 1000} s after start, once it answers, as started (bin/infrapulse.js) and from the sources through tsx, alternately, ${o.runs} each (about ${Math.round((o.runs * 2 * (SETTLE_MS + 2000)) / 1000)} s)`);
  // An empty database of its own: the other parts leave devices behind that a server would poll.
  const db = await openBenchDatabase({ databaseUrl: o.databaseUrl, dataDir: o.dataDir }, o.log);
  // One data directory, so one secret key: the database remembers the first server's.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-idle-'));
  const started: number[] = [];
  const sources: number[] = [];
  try {
    for (let run = 0; run < o.runs; run++) {
      started.push(await idleRss(['bin/infrapulse.js', 'serve'], db.url, dataDir));
      sources.push(await idleRss(['--import', 'tsx', 'src/cli.ts', 'serve'], db.url, dataDir));
      o.progress(`idle: run ${run + 1}/${o.runs}: ${started.at(-1)!.toFixed(0)} MB as started, ${sources.at(-1)!.toFixed(0)} MB through tsx`);
    }
  } finally {
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return { rssMB: stat(started), sourcesRssMB: stat(sources), compiled: compiledIsFresh() };
}
