/**
 * Issue 14, item 7: as root, a DATA_DIR inside a private (0700) directory, which the postgres
 * user that runs the embedded PostgreSQL cannot traverse. The cluster is kept where postgres
 * can reach it (/var/lib/infrapulse/embedded-<id>, recorded in DATA_DIR) and everything works:
 * start, token create beside the server, restart with the data kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SHARED_CLUSTER_ROOT } from '../../../src/db/embedded.ts';
import { cli, serve, type Serving } from './support.ts';

const root = process.getuid?.() === 0;
const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-private-'));
fs.chmodSync(parent, 0o700);
const dataDir = path.join(parent, 'data');
const running: Serving[] = [];
let cluster: string | undefined;

afterAll(async () => {
  for (const s of running) await s.stop();
  fs.rmSync(parent, { recursive: true, force: true });
  if (cluster?.startsWith(`${SHARED_CLUSTER_ROOT}/`)) fs.rmSync(cluster, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!root)('DATA_DIR under a private directory, as root', () => {
  test('serve initialises the cluster where postgres can reach it and keeps using it', { timeout: 600_000 }, async () => {
    const first = await serve({ DATA_DIR: dataDir });
    running.push(first);
    cluster = fs.readFileSync(path.join(dataDir, 'postgres-location'), 'utf8').trim();
    expect(cluster).toMatch(new RegExp(`^${SHARED_CLUSTER_ROOT}/embedded-[0-9a-f]{16}$`));
    expect(fs.statSync(cluster).uid).not.toBe(0); // owned by postgres
    expect(first.output()).toContain(`embedded PostgreSQL in ${cluster}`);
    const admin = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    expect((await first.gql('{ health { status } }', admin)).body.data).toEqual({ health: { status: 'OK' } });

    const token = cli(['token', 'create', '--name', 'private', '--role', 'VIEWER'], { DATA_DIR: dataDir });
    expect(await token.exited).toBe(0);
    expect(await first.stop()).toBe(0);

    // The next start finds the same cluster (the token made above is still there).
    const second = await serve({ DATA_DIR: dataDir });
    running.push(second);
    expect(second.output()).toContain(`embedded PostgreSQL in ${cluster}`);
    const viewer = token.output().split('\n')[0]!.trim();
    expect((await second.gql('{ health { status } }', viewer)).body.data).toEqual({ health: { status: 'OK' } });
    expect(await second.stop()).toBe(0);
  });
});
