/**
 * Issue 14, item 1: a running server owns its DATA_DIR. Another infrapulse process never
 * stops its embedded PostgreSQL: `token create` uses the running server's database, a second
 * `serve` exits 1 with one line; and when the embedded PostgreSQL dies under the server, the
 * server restarts it while `health` says DOWN (never HTTP 500). Real processes, real SIGKILL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, postmasterPid, serve, until, type Serving } from './support.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-owner-'));
fs.chmodSync(dataDir, 0o755);
const pgData = path.join(dataDir, 'postgres');
let server: Serving;
let admin: string;

beforeAll(async () => {
  server = await serve({ DATA_DIR: dataDir });
  admin = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
}, 240_000);

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const healthStatus = async (): Promise<{ http: number; status: unknown }> => {
  const r = await server.gql('{ health { status } }', admin);
  return { http: r.status, status: (r.body.data?.health as { status?: string } | undefined)?.status };
};

describe('a running server owns its DATA_DIR', () => {
  test('token create while the server runs uses its database and leaves it running', { timeout: 240_000 }, async () => {
    const postmaster = postmasterPid(pgData);
    expect(postmaster).toBeGreaterThan(0);
    const created = cli(['token', 'create', '--name', 'made beside a running server', '--role', 'VIEWER'], { DATA_DIR: dataDir });
    expect(await created.exited).toBe(0);
    const token = created.output().split('\n')[0]!.trim();
    expect(token.length).toBeGreaterThan(20);
    // The same postmaster still serves, and the new token is in the server's database.
    expect(postmasterPid(pgData)).toBe(postmaster);
    expect(await healthStatus()).toEqual({ http: 200, status: 'OK' });
    const viewer = await server.gql('{ health { status } }', token);
    expect(viewer.status).toBe(200);
    expect(viewer.body.data).toEqual({ health: { status: 'OK' } });
  });

  test('a second serve on the busy DATA_DIR exits 1 with one line and touches nothing', { timeout: 240_000 }, async () => {
    const postmaster = postmasterPid(pgData);
    const second = cli(['serve'], { DATA_DIR: dataDir, PORT: '0' });
    expect(await second.exited).toBe(1);
    const lines = second.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`infrapulse: DATA_DIR ${dataDir} is in use by a running infrapulse serve (pid ${server.child.pid}); stop it first or use another DATA_DIR`);
    expect(postmasterPid(pgData)).toBe(postmaster);
    expect(await healthStatus()).toEqual({ http: 200, status: 'OK' });
  });

  test('migrate while the server runs says the server must be stopped', { timeout: 240_000 }, async () => {
    const m = cli(['migrate'], { DATA_DIR: dataDir });
    expect(await m.exited).toBe(1);
    expect(m.output().trim()).toBe(`infrapulse: DATA_DIR ${dataDir} is in use by a running infrapulse serve (pid ${server.child.pid}); stop it first or use another DATA_DIR`);
    expect(await healthStatus()).toEqual({ http: 200, status: 'OK' });
  });

  test('a killed embedded PostgreSQL is restarted; health says DOWN meanwhile, never HTTP 500', { timeout: 300_000 }, async () => {
    const postmaster = postmasterPid(pgData)!;
    process.kill(postmaster, 'SIGKILL');
    const seen: { http: number; status: unknown }[] = [];
    await until(async () => {
      const h = await healthStatus();
      seen.push(h);
      const restarted = postmasterPid(pgData);
      return h.status === 'OK' && restarted !== undefined && restarted !== postmaster;
    }, 'the embedded PostgreSQL to be restarted', 120_000);
    expect(seen.filter((h) => h.http !== 200)).toEqual([]);
    expect(seen.some((h) => h.status === 'DOWN')).toBe(true);
    expect(new Set(seen.map((h) => h.status))).toEqual(new Set(['DOWN', 'OK']));
    expect(server.output()).toMatch(/embedded PostgreSQL exited unexpectedly/);
    // Data written before the crash is still there and the API writes again.
    const created = await server.gql('mutation { createApiToken(input: { name: "after the restart", role: VIEWER }) { ... on CreatedApiToken { apiToken { id } } } }', admin);
    expect(created.body.errors).toBeUndefined();
  });
});
