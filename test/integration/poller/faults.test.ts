// Faults OpenSSH cannot stage on demand, through an in-process ssh2.Server, with a real database.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/index.ts';
import { freePort } from '../../../src/db/embedded.ts';
import type { SecretBox } from '../../../src/db/secrets.ts';
import type { EventBus } from '../../../src/events/index.ts';
import { createLogger } from '../../../src/log.ts';
import { createPoller, type Poller, type PollerTuning } from '../../../src/poller/index.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { generateHostKey, startFakeSshServer, startSilentServer, type FakeExecContext, type FakeSshServer } from '../../helpers/fake-ssh-server.ts';
import { execLocally, newBus, recordEvents, tempDir, testConfig, testSecrets } from './setup.ts';

const log = createLogger('silent');
let db: Database & { name: string };
let secrets: SecretBox;
let events: EventBus;
let dataDir: string;
let poller: Poller;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  secrets = testSecrets();
  events = newBus();
  dataDir = tempDir('infrapulse-faults-');
});
afterEach(async () => {
  await poller?.stop();
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function startPoller(tuning: Partial<PollerTuning> = {}): Promise<Poller> {
  poller = createPoller({
    config: testConfig(dataDir),
    db,
    events,
    log,
    secrets,
    tuning: { spoolDir: `${dataDir}/spool-${randomBytes(3).toString('hex')}`, sshBackoff: { baseMs: 10, maxMs: 40 }, execTimeoutMs: 3000, ...tuning },
  });
  await poller.start();
  return poller;
}

async function device(name: string, port: number, extra: { hostKeyFingerprint?: string } = {}) {
  const credential = await db.prisma.credential.create({ data: { name: `${name}-pw`, kind: 'PASSWORD', encryptedSecret: new Uint8Array(secrets.encrypt('hunter2')) } });
  return db.prisma.device.create({ data: { name, hostname: '127.0.0.1', port, username: 'tester', credentialId: credential.id, ...extra } });
}

async function fake(onExec?: (ctx: FakeExecContext) => void, opts: { auth?: 'accept' | 'reject'; hostKey?: string; port?: number } = {}): Promise<FakeSshServer> {
  const server = await startFakeSshServer({ onExec, ...opts });
  cleanups.push(() => server.stop());
  return server;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until the device's failures were really counted (not refused by the runner's own backoff window). */
async function pollCounted(p: Poller, id: string, times: number) {
  let counted = 0;
  let last;
  for (let i = 0; i < 200 && counted < times; i++) {
    last = await p.pollNow(id, ['system']);
    if (last.skipped !== 'backoff') counted++;
    else await sleep(15);
  }
  return last!;
}

describe('poller fault handling', () => {
  it('port closed: CONNECT failures counted, OFFLINE after 3, one status event, lastError says why', async () => {
    const p = await startPoller();
    const d = await device('closed-port', await freePort());
    const statuses = recordEvents(events, 'deviceStatusChanged');
    const first = await p.pollNow(d.id, ['system']);
    expect(first.outcomes[0]).toMatchObject({ kind: 'transport', error: 'CONNECT' });
    expect(first.status).toBe('UNKNOWN');
    const third = await pollCounted(p, d.id, 2);
    expect(third.status).toBe('OFFLINE');
    const row = await db.prisma.device.findUniqueOrThrow({ where: { id: d.id } });
    expect(row.status).toBe('OFFLINE');
    expect(row.consecutiveFailures).toBe(3);
    expect(row.lastError).toMatch(/connection refused/);
    await statuses.stop();
    expect(statuses.seen.filter((e) => e.deviceId === d.id).map((e) => e.current)).toEqual(['OFFLINE']);
  });

  it('connection reset mid-exec: CLOSED, no crash, the next poll reconnects and succeeds', async () => {
    let resets = 1;
    const server = await fake((ctx) => {
      if (resets-- > 0) ctx.destroySocket();
      else execLocally(ctx);
    });
    const p = await startPoller();
    const d = await device('reset', server.port);
    const first = await p.pollNow(d.id, ['system']);
    expect(first.outcomes[0]).toMatchObject({ kind: 'transport', error: 'CLOSED' });
    let second = await p.pollNow(d.id, ['system']);
    for (let i = 0; i < 50 && second.skipped === 'backoff'; i++) {
      await sleep(15);
      second = await p.pollNow(d.id, ['system']);
    }
    expect(second.outcomes[0]!.kind).toBe('ok');
    expect(second.status).toBe('ONLINE');
    expect(server.connectionCount).toBe(2);
  });

  it('a host that accepts connections and resets every exec is backed off like one that refuses them', async () => {
    const server = await fake((ctx) => ctx.destroySocket());
    const p = await startPoller({ sshBackoff: { baseMs: 200, maxMs: 1600, jitter: 0 } });
    const d = await device('resets-every-exec', server.port);
    const started = Date.now();
    const outcomes = [];
    // A poll every 50 ms for 2.5 s: without backoff, one handshake each.
    while (Date.now() - started < 2500) {
      outcomes.push(await p.pollNow(d.id, ['system']));
      await sleep(50);
    }
    const attempted = outcomes.filter((o) => o.skipped !== 'backoff');
    expect(outcomes.length).toBeGreaterThan(10);
    expect(attempted.every((o) => o.outcomes[0]?.kind === 'transport')).toBe(true);
    // 200 + 400 + 800 ms of backoff fit in 2.5 s: about four handshakes, nowhere near one per poll.
    expect(server.connectionCount).toBeLessThanOrEqual(6);
    expect(outcomes.filter((o) => o.skipped === 'backoff').length).toBeGreaterThan(outcomes.length / 2);
    expect(attempted.at(-1)!.status).toBe('OFFLINE');
  });

  it('banner never sent: the handshake timeout ends it as a CONNECT failure', async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.stop());
    const p = await startPoller({ sshReadyTimeoutMs: 300 });
    const d = await device('silent', silent.port);
    const o = await p.pollNow(d.id, ['system']);
    expect(o.outcomes[0]).toMatchObject({ kind: 'transport', error: 'CONNECT' });
    expect((o.outcomes[0] as { message: string }).message).toMatch(/handshake/);
  });

  it('auth rejected → AUTH_FAILED with one event', async () => {
    const server = await fake(undefined, { auth: 'reject' });
    const p = await startPoller();
    const d = await device('auth', server.port);
    const statuses = recordEvents(events, 'deviceStatusChanged');
    const o = await p.pollNow(d.id, ['system']);
    expect(o.status).toBe('AUTH_FAILED');
    await pollCounted(p, d.id, 1);
    await statuses.stop();
    expect(statuses.seen.filter((e) => e.deviceId === d.id).map((e) => [e.previous, e.current])).toEqual([['UNKNOWN', 'AUTH_FAILED']]);
    expect((await db.prisma.device.findUniqueOrThrow({ where: { id: d.id } })).lastError).toMatch(/authentication failed/);
  });

  it('host key changed → HOST_KEY_MISMATCH, pendingHostKey stored, polling stops until trustHostKey', async () => {
    const keyA = generateHostKey();
    const keyB = generateHostKey();
    const a = await startFakeSshServer({ hostKey: keyA.privateKey, onExec: execLocally });
    const port = a.port;
    const p = await startPoller();
    const d = await device('rekeyed', port);
    const others = p.stats().scheduledDevices; // devices left by earlier tests in this database
    await p.deviceChanged(d.id);
    expect((await p.pollNow(d.id, ['system'])).status).toBe('ONLINE');
    expect((await db.prisma.device.findUniqueOrThrow({ where: { id: d.id } })).hostKeyFingerprint).toBe(keyA.fingerprint);
    expect(p.stats().scheduledDevices).toBe(others + 1);
    // Recording the key trusted on first use keeps the connection: no second handshake.
    expect((await p.pollNow(d.id, ['system'])).status).toBe('ONLINE');
    expect(a.connectionCount).toBe(1);
    await a.stop();

    const b = await fake(execLocally, { hostKey: keyB.privateKey, port });
    const statuses = recordEvents(events, 'deviceStatusChanged');
    // The kept connection (pinned to key A since first use) may first fail as CLOSED; the
    // reconnect then meets key B.
    let o = await p.pollNow(d.id, ['system']);
    for (let i = 0; i < 50 && o.status !== 'HOST_KEY_MISMATCH'; i++) {
      await sleep(15);
      o = await p.pollNow(d.id, ['system']);
    }
    expect(o.status).toBe('HOST_KEY_MISMATCH');
    expect(o.presentedHostKey).toBe(keyB.fingerprint);
    const row = await db.prisma.device.findUniqueOrThrow({ where: { id: d.id } });
    expect(row).toMatchObject({ status: 'HOST_KEY_MISMATCH', pendingHostKey: keyB.fingerprint, hostKeyFingerprint: keyA.fingerprint });
    expect(p.stats().scheduledDevices).toBe(others);
    // A device update that does not touch the pin keeps it paused.
    await db.prisma.device.update({ where: { id: d.id }, data: { tags: ['x'] } });
    await p.deviceChanged(d.id);
    expect(p.stats().scheduledDevices).toBe(others);
    expect(b.connectionCount).toBe(1);

    const trusted = await p.trustHostKey(d.id, keyB.fingerprint);
    // trustHostKey polls every collector; docker/smartctl here may make that DEGRADED, never a key problem again.
    expect(trusted.outcomes.find((o) => o.collector === 'system')!.kind).toBe('ok');
    expect(['ONLINE', 'DEGRADED']).toContain(trusted.status);
    expect(p.stats().scheduledDevices).toBe(others + 1);
    const after = await db.prisma.device.findUniqueOrThrow({ where: { id: d.id } });
    expect(after).toMatchObject({ status: trusted.status, hostKeyFingerprint: keyB.fingerprint, pendingHostKey: null });
    await statuses.stop();
    expect(statuses.seen.filter((e) => e.deviceId === d.id).map((e) => e.current)).toEqual(['HOST_KEY_MISMATCH', trusted.status]);
    await expect(p.trustHostKey(d.id, 'not-a-fingerprint')).rejects.toThrow(/fingerprint/);
  });

  it('a command hanging past its timeout fails alone and does not hold up a healthy device', async () => {
    const hanging = await fake(() => {
      // Never answers: the exec timeout must end it.
    });
    const healthy = await fake(execLocally);
    const p = await startPoller({ execTimeoutMs: 1500 });
    const dh = await device('hangs', hanging.port);
    const dok = await device('healthy', healthy.port);
    let hangingDone = false;
    const slow = p.pollNow(dh.id, ['system']).then((o) => {
      hangingDone = true;
      return o;
    });
    const fast = await p.pollNow(dok.id, ['system']);
    expect(fast.outcomes[0]!.kind).toBe('ok');
    expect(hangingDone).toBe(false);
    const o = await slow;
    expect(o.outcomes[0]).toMatchObject({ kind: 'transport', error: 'TIMEOUT' });
  });

  it('garbage output → BAD_OUTPUT, the host answered so DEGRADED; 10 MB of output neither crashes nor hangs', async () => {
    const garbage = await fake(({ channel }) => {
      channel.write(randomBytes(4096));
      channel.exit(0);
      channel.end();
    });
    const huge = await fake(({ channel }) => {
      const chunk = Buffer.alloc(1024 * 1024, 'A');
      for (let i = 0; i < 10; i++) channel.write(chunk);
      channel.exit(0);
      channel.end();
    });
    const p = await startPoller();
    const dg = await device('garbage', garbage.port);
    const dh = await device('huge', huge.port);
    const [og, oh] = await Promise.all([p.pollNow(dg.id, ['system']), p.pollNow(dh.id, ['system'])]);
    expect(og.outcomes[0]).toMatchObject({ kind: 'collector', reason: 'BAD_OUTPUT' });
    expect(og.status).toBe('DEGRADED');
    expect(oh.outcomes[0]!.kind).not.toBe('ok');
    expect(oh.status).toBe('DEGRADED');
    expect(og.rows + oh.rows).toBe(0);
    // The same runner still works after both.
    expect((await p.pollNow(dg.id, ['system'])).outcomes[0]).toMatchObject({ kind: 'collector' });
  });

  it('deleting a device stops its polling and closes its connection', async () => {
    const server = await fake(execLocally);
    const p = await startPoller();
    const d = await device('deleted', server.port);
    await p.deviceChanged(d.id);
    expect((await p.pollNow(d.id, ['system'])).status).toBe('ONLINE');
    const before = p.stats().scheduledDevices;
    await db.prisma.device.delete({ where: { id: d.id } });
    await p.deviceChanged(d.id);
    expect(p.stats().scheduledDevices).toBe(before - 1);
    await expect(p.pollNow(d.id)).rejects.toThrow(/not found/);
  });

  it('disabling monitoring → DISABLED, unscheduled; enabling → polled again', async () => {
    const server = await fake(execLocally);
    const p = await startPoller();
    const d = await device('toggle', server.port);
    await p.deviceChanged(d.id);
    await p.pollNow(d.id, ['system']);
    await db.prisma.device.update({ where: { id: d.id }, data: { monitoringEnabled: false } });
    await p.deviceChanged(d.id);
    expect((await db.prisma.device.findUniqueOrThrow({ where: { id: d.id } })).status).toBe('DISABLED');
    expect((await p.pollNow(d.id, ['system'])).skipped).toBe('disabled');
    await db.prisma.device.update({ where: { id: d.id }, data: { monitoringEnabled: true } });
    await p.deviceChanged(d.id);
    expect((await p.pollNow(d.id, ['system'])).status).toBe('ONLINE');
  });
});
