/** Real `infrapulse` processes on a DATA_DIR of the test's own (embedded PostgreSQL). */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../../src/db/embedded.ts';

const BIN = path.resolve(import.meta.dirname, '../../../bin/infrapulse.js');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function cli(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', MONITOR_LOCALHOST: 'false', POLLING_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, output: () => out, exited };
}

export interface Serving extends Proc {
  url: string;
  gql(query: string, token: string): Promise<{ status: number; body: { data?: Record<string, unknown>; errors?: { message: string }[] } }>;
  stop(): Promise<number | null>;
}

export async function serve(env: Record<string, string>): Promise<Serving> {
  const p = cli(['serve'], { PORT: String(await freePort()), ...env });
  try {
    // A first start (initdb, migrations) under a loaded machine takes a while.
    await until(() => {
      if (p.child.exitCode !== null) throw new Error(`serve exited early:\n${p.output()}`);
      return /is serving (\S+)/.test(p.output());
    }, 'serve to start', 180_000);
  } catch (e) {
    p.child.kill('SIGKILL');
    throw e;
  }
  const url = /is serving (\S+)/.exec(p.output())![1]!;
  return {
    ...p,
    url,
    async gql(query, token) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
      const text = await res.text();
      let body = {};
      try {
        body = JSON.parse(text) as object;
      } catch {
        body = { errors: [{ message: text }] };
      }
      return { status: res.status, body };
    },
    async stop() {
      if (p.child.exitCode === null) p.child.kill('SIGTERM');
      return p.exited;
    },
  };
}

/** Pids of the processes whose command line contains `text` (the embedded PostgreSQL's data directory). */
export function pidsWith(text: string): number[] {
  return fs.readdirSync('/proc').flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) ? [Number(pid)] : [];
    } catch {
      return [];
    }
  });
}

/** The postmaster's pid from the cluster's lock file (its first line). */
export function postmasterPid(pgData: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
