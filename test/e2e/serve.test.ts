/**
 * The two-command promise: `infrapulse serve` on an embedded database answers health, keeps
 * its data across restarts, stops within 10 s on SIGTERM (embedded PostgreSQL included), and
 * refuses bad settings, an unreachable DATABASE_URL and a busy port with clear messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/infrapulse.js');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-serve-'));
fs.chmodSync(dataDir, 0o755);
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', MONITOR_LOCALHOST: 'false', POLLING_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function serve(port: number): Promise<Running> {
  const r = run(['serve'], { DATA_DIR: dataDir, PORT: String(port) });
  const deadline = Date.now() + 60_000;
  while (!/is serving (\S+)/.test(r.output())) {
    if (r.child.exitCode !== null) throw new Error(`serve exited early:\n${r.output()}`);
    if (Date.now() > deadline) throw new Error(`serve did not start:\n${r.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  return { ...r, url: /is serving (\S+)/.exec(r.output())![1]! };
}

async function gql(url: string, query: string): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const token = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
  return (await res.json()) as never;
}

function postgresRunning(): boolean {
  return fs.readdirSync('/proc').some((pid) => {
    try {
      return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path.join(dataDir, 'postgres'));
    } catch {
      return false;
    }
  });
}

async function stopAndTime(r: Running): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  r.child.kill('SIGTERM');
  const code = await r.exited;
  return { code, ms: Date.now() - started };
}

describe('infrapulse serve', () => {
  test('starts on an embedded database, keeps data across a restart, stops on SIGTERM', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const first = await serve(port);
    expect(first.output()).toContain('GraphiQL');
    expect(first.output()).toContain(`cat ${path.join(dataDir, 'admin-token')}`);
    expect(fs.statSync(path.join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    const health = await gql(first.url, '{ health { status database { ok } } }');
    expect(health.data).toEqual({ health: { status: 'OK', database: { ok: true } } });
    const created = await gql(first.url, 'mutation { createApiToken(input: { name: "kept across restarts", role: VIEWER }) { ... on CreatedApiToken { apiToken { id } } } }');
    expect(created.errors).toBeUndefined();

    const stopped = await stopAndTime(first);
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(10_000);
    expect(postgresRunning()).toBe(false);

    const second = await serve(port);
    // The generated admin token still works (same file, same database) and the token row is there.
    const again = await gql(second.url, '{ health { status } }');
    expect(again.data).toEqual({ health: { status: 'OK' } });
    const { default: pg } = await import('pg');
    const pwd = fs.readFileSync(path.join(dataDir, 'postgres-password'), 'utf8').trim();
    const pgPort = /port=(\d+)/.exec(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n').slice(3, 4).map((p) => `port=${p}`).join(''))?.[1];
    const client = new pg.Client({ connectionString: `postgresql://postgres:${encodeURIComponent(pwd)}@127.0.0.1:${pgPort}/postgres` });
    await client.connect();
    const { rows } = await client.query("SELECT count(*)::int AS n FROM api_tokens WHERE name = 'kept across restarts'");
    await client.end();
    expect(rows[0].n).toBe(1);
    expect((await stopAndTime(second)).code).toBe(0);
  });

  test('starts again after a crash left the embedded PostgreSQL and its postmaster.pid behind', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const crashed = await serve(port);
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    // The orphaned server still holds the data directory: the next start must deal with it.
    expect(postgresRunning()).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(true);
    const next = await serve(port);
    expect((await gql(next.url, '{ health { status } }')).data).toEqual({ health: { status: 'OK' } });
    expect((await stopAndTime(next)).code).toBe(0);
    expect(postgresRunning()).toBe(false);

    // A lock file naming a process that no longer exists (a reboot) is removed.
    fs.writeFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), `999999\n${path.join(dataDir, 'postgres')}\n0\n5432\n`);
    const afterReboot = await serve(port);
    expect((await gql(afterReboot.url, '{ health { status } }')).data).toEqual({ health: { status: 'OK' } });
    expect((await stopAndTime(afterReboot)).code).toBe(0);
  });

  test('a busy port is a clear error', { timeout: 120_000 }, async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = run(['serve'], { DATA_DIR: dataDir, PORT: String(port) });
    expect(await r.exited).toBe(1);
    expect(r.output()).toContain(`cannot listen on 127.0.0.1:${port}: the port is already in use`);
    expect(postgresRunning()).toBe(false);
    blocker.close();
  });

  test('invalid settings: one line per problem, exit 1', async () => {
    const r = run(['serve'], { DATA_DIR: dataDir, PORT: 'nope', POLLING_SYSTEM_METRICS_INTERVAL: '0' });
    expect(await r.exited).toBe(1);
    const lines = r.output().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^infrapulse: invalid setting (PORT|POLLING_SYSTEM_METRICS_INTERVAL)=/);
  });

  test('an unreachable DATABASE_URL names host:port and exits non-zero after retrying', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const r = run(['serve'], { DATA_DIR: dataDir, DATABASE_URL: `postgresql://u@127.0.0.1:${port}/x`, DATABASE_CONNECT_ATTEMPTS: '2', LOG_LEVEL: 'warn' });
    expect(await r.exited).toBe(1);
    expect(r.output()).toContain(`cannot reach PostgreSQL at 127.0.0.1:${port}/x`);
    expect(r.output()).toContain('retrying');
  });
});
