/**
 * The README's demo at default settings (issue #14, item 4): `simulate --register` against a
 * real `infrapulse serve` process with every limit at its default (15 aliases, 1,000 tokens,
 * 120 mutations a minute) registers a fleet larger than one minute's mutation budget, in
 * batches the server accepts, waiting out 429s, and says how far it got. And a restarted
 * simulator with the same seed presents the same host keys, so pinned fingerprints still match.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerDevices, runSimulate, startSimulator } from '../../../src/simulator/index.ts';
import { startTestApp } from '../../helpers/app.ts';
import { startServe, until, type Serve } from '../durability/support.ts';

const ADMIN = 'ipt_register_defaults_0123456789abcdef';
/** More than the default 120 mutations a minute, so the run meets a 429; small enough to stay quick. */
const DEVICES = 160;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-register-'));
let serve: Serve | undefined;

beforeAll(async () => {
  serve = await startServe({ DATA_DIR: dataDir, INFRAPULSE_ADMIN_TOKEN: ADMIN, POLLING_ENABLED: 'false', LOG_LEVEL: 'warn' });
}, 180_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('simulate --register at the server\'s default limits', () => {
  test(`registers ${DEVICES} devices, waiting out the mutation rate limit, with progress`, { timeout: 300_000 }, async () => {
    const s = serve!;
    const out: string[] = [];
    const err: string[] = [];
    const stop = new AbortController();
    const exit = runSimulate(['--devices', String(DEVICES), '--port', '0', '--seed', '3', '--register', s.url, '--token', ADMIN], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      signal: stop.signal,
    });
    let exitCode: number | undefined;
    void exit.then((c) => (exitCode = c));
    await until(() => exitCode !== undefined || out.some((l) => l.startsWith('registered ')), 'registration to finish', 240_000);
    stop.abort();
    expect(await exit).toBe(0);
    expect(err).toEqual([]);
    expect(out).toContain(`registered ${DEVICES} of ${DEVICES} devices at ${s.url}`);
    expect(out.some((l) => /rate limited.*waiting \d+ s/.test(l)), out.join('\n')).toBe(true);
    expect(out.some((l) => new RegExp(`^registering: \\d+ of ${DEVICES}`).test(l))).toBe(true);
    const count = await s.gql<{ devices: { totalCount: number } }>('{ devices { totalCount } }', ADMIN);
    expect(count.body.data?.devices.totalCount).toBe(DEVICES);
  });
});

describe('a server with limits below the defaults', () => {
  test('smaller batches: a refused operation is split until the server takes it', { timeout: 120_000 }, async () => {
    const app = await startTestApp({ GRAPHQL_MAX_ALIASES: '4' });
    try {
      const usernames = Array.from({ length: 10 }, (_, i) => `tight-${i}`);
      const r = await registerDevices({ url: `${app.server.url}/graphql`, token: app.adminToken, hostname: '127.0.0.1', port: 2222, usernames });
      expect(r.failed).toEqual([]);
      expect(r.created.map((c) => c.username)).toEqual(usernames);
    } finally {
      await app.close();
    }
  });
});

/** The host key fingerprint a real SSH client sees. */
function seenFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    let seen = '';
    c.on('ready', () => {
      c.end();
      resolve(seen);
    }).on('error', reject);
    c.connect({
      host: '127.0.0.1',
      port,
      username: 'host-0001',
      password: 'x',
      hostVerifier: (key: Buffer) => {
        seen = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
        return true;
      },
    });
  });
}

describe('simulated host keys', () => {
  test('the same seed gives the same host key across restarts; another seed another', { timeout: 60_000 }, async () => {
    const fingerprints: string[] = [];
    for (const seed of [11, 11, 12]) {
      const sim = await startSimulator({ devices: 2, seed, port: 0 });
      try {
        const seen = await seenFingerprint(sim.port);
        expect(seen).toBe(sim.hostKeyFingerprint);
        fingerprints.push(seen);
      } finally {
        await sim.stop();
      }
    }
    expect(fingerprints[1]).toBe(fingerprints[0]);
    expect(fingerprints[2]).not.toBe(fingerprints[0]);
  });
});
