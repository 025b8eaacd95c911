/**
 * Real processes for the durability tests: `infrapulse serve` as a child (so SIGKILL is a
 * real crash).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../../src/db/embedded.ts';

export { ownPostgres, type OwnPostgres } from '../../helpers/own-postgres.ts';

const BIN = path.resolve(import.meta.dirname, '../../../bin/infrapulse.js');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export interface Serve {
  child: ChildProcess;
  url: string;
  /** JSON log lines so far. */
  lines: Record<string, unknown>[];
  /** Everything that was not a JSON log line. */
  text: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  gql<T>(query: string, token: string): Promise<{ status: number; body: { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] } }>;
}

/** Starts `infrapulse serve` with the given settings and waits until it serves. */
export async function startServe(env: Record<string, string>): Promise<Serve> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), MONITOR_LOCALHOST: 'false', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let text = '';
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      if (l.startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
      else text += `${l}\n`;
    }
  });
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal }))); // close: after the output is read
  await until(() => {
    if (child.exitCode !== null) throw new Error(`serve exited early:\n${text}`);
    return /is serving (\S+)/.test(text);
  }, 'serve to start', 60_000);
  const url = /is serving (\S+)/.exec(text)![1]!;
  return {
    child,
    url,
    lines,
    text: () => text,
    exited,
    async gql(query, token) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
      return { status: res.status, body: (await res.json()) as never };
    },
  };
}
