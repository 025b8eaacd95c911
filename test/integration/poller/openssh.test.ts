// The poller against a real OpenSSH server and a real database: what production does.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/index.ts';
import type { SecretBox } from '../../../src/db/secrets.ts';
import type { EventBus } from '../../../src/events/index.ts';
import { createLogger } from '../../../src/log.ts';
import { UNAVAILABLE_REASONS } from '../../../src/collectors/types.ts';
import { createPoller, type Poller } from '../../../src/poller/index.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { startSshd, type TestSshd } from '../../helpers/sshd.ts';
import { newBus, recordEvents, tempDir, testConfig, testSecrets, until } from './setup.ts';
import { COLLECTOR_NAMES } from '../../../src/collectors/index.ts';

const log = createLogger('silent');
let sshd: TestSshd;
let db: Database & { name: string };
let secrets: SecretBox;
let events: EventBus;
let dataDir: string;
const pollers: Poller[] = [];

beforeAll(async () => {
  [sshd, db] = await Promise.all([startSshd(), createTestDatabase()]);
  secrets = testSecrets();
  events = newBus();
  dataDir = tempDir('infrapulse-poller-');
});
afterAll(async () => {
  for (const p of pollers) await p.stop();
  await sshd?.stop();
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function registerDevice(name: string) {
  const credential = await db.prisma.credential.create({
    data: { name: `${name}-key`, kind: 'PRIVATE_KEY', encryptedSecret: new Uint8Array(secrets.encrypt(sshd.privateKey)) },
  });
  return db.prisma.device.create({
    data: { name, hostname: sshd.host, port: sshd.port, username: sshd.username, credentialId: credential.id },
  });
}

describe('poller against OpenSSH', () => {
  it('polls a registered device: rows stored, event after the commit, TOFU, ONLINE once, rates on the 2nd poll', async () => {
    const device = await registerDevice('openssh-1');
    const visibleAtEvent: boolean[] = [];
    const metrics = recordEvents(events, 'metricCollected', async (e) => {
      if (e.deviceId !== device.id) return;
      const { rows } = await db.pool.query('SELECT 1 FROM system_metrics WHERE device_id = $1 AND time = $2', [device.id, e.sample.time]);
      visibleAtEvent.push(rows.length === 1);
    });
    const statuses = recordEvents(events, 'deviceStatusChanged');
    const poller = createPoller({ config: testConfig(dataDir), db, events, log, secrets, tuning: { spoolDir: `${dataDir}/spool-1` } });
    pollers.push(poller);
    await poller.start();

    const handshakesBefore = poller.stats().sshHandshakes;
    const first = await poller.pollNow(device.id, ['system']);
    expect(first.outcomes).toEqual([{ collector: 'system', kind: 'ok', problems: expect.any(Array) }]);
    expect(poller.stats().sshHandshakes).toBe(handshakesBefore + 1);
    expect(first.write).toBe('committed');
    expect(first.status).toBe('ONLINE');

    const counts = await db.pool.query<{ s: string; f: string; n: string }>(
      `SELECT (SELECT count(*) FROM system_metrics WHERE device_id = $1) AS s,
              (SELECT count(*) FROM filesystem_metrics WHERE device_id = $1) AS f,
              (SELECT count(*) FROM network_metrics WHERE device_id = $1) AS n`,
      [device.id],
    );
    expect(Number(counts.rows[0]!.s)).toBe(1);
    expect(Number(counts.rows[0]!.f)).toBeGreaterThan(0);
    expect(Number(counts.rows[0]!.n)).toBeGreaterThan(0);

    const stored = await db.prisma.device.findUniqueOrThrow({ where: { id: device.id } });
    expect(stored.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    expect(stored.status).toBe('ONLINE');
    expect(stored.lastSeenAt).not.toBeNull();
    expect(stored.consecutiveFailures).toBe(0);

    const second = await poller.pollNow(device.id, ['system']);
    expect(second.outcomes[0]!.kind).toBe('ok');
    expect(poller.stats().sshHandshakes).toBe(handshakesBefore + 1); // the connection was kept
    const { rows } = await db.pool.query<{ cpu_percent: number | null }>(
      'SELECT cpu_percent FROM system_metrics WHERE device_id = $1 ORDER BY time',
      [device.id],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]!.cpu_percent).toBeNull();
    expect(rows[1]!.cpu_percent).not.toBeNull();

    await until(() => visibleAtEvent.length === 2, 'two metric events');
    expect(visibleAtEvent).toEqual([true, true]);
    await metrics.stop();
    await statuses.stop();
    const mine = statuses.seen.filter((e) => e.deviceId === device.id);
    expect(mine.map((e) => [e.previous, e.current])).toEqual([['UNKNOWN', 'ONLINE']]);
    expect(await db.prisma.statusChange.count({ where: { deviceId: device.id } })).toBe(1);
  });

  it('a poll of every collector completes; what docker/smartctl cannot do for the test user is UNAVAILABLE, not a fault', async () => {
    const device = await registerDevice('openssh-all');
    const poller = createPoller({ config: testConfig(dataDir), db, events, log, secrets, tuning: { spoolDir: `${dataDir}/spool-2` } });
    pollers.push(poller);
    await poller.start();
    const outcome = await poller.pollNow(device.id);
    expect(outcome.outcomes.map((o) => o.collector).sort()).toEqual([...COLLECTOR_NAMES].sort());
    // This machine has no md arrays, zpool, btrfs, hwmon or nvidia-smi: through real sshd those read as not offered here.
    for (const name of ['storage', 'sensors', 'gpu'] as const) expect(outcome.outcomes.find((o) => o.collector === name)).toMatchObject({ kind: 'collector', reason: expect.stringMatching(/^(NOT_INSTALLED|NO_DEVICES)$/) });
    expect(outcome.outcomes.find((o) => o.collector === 'system')!.kind).toBe('ok');
    // Which of docker/smartctl this machine has varies; the rule does not: "cannot run here" on a first run is UNAVAILABLE and the device is not DEGRADED for it.
    const states = new Map(poller.collectorStates(device.id)!.map((c) => [c.name, c]));
    const unavailableHere = outcome.outcomes.filter((o) => o.kind === 'collector' && UNAVAILABLE_REASONS.has(o.reason as never));
    for (const o of unavailableHere) expect(states.get(o.collector)).toMatchObject({ state: 'UNAVAILABLE', reason: expect.any(String) });
    const faults = outcome.outcomes.filter((o) => (o.kind === 'ok' ? o.problems.length > 0 : !unavailableHere.includes(o)));
    expect(outcome.status).toBe(faults.length === 0 ? 'ONLINE' : 'DEGRADED');
  });

  it('goes OFFLINE when sshd dies and comes back ONLINE by itself when it returns', async () => {
    const device = await registerDevice('openssh-outage');
    const statuses = recordEvents(events, 'deviceStatusChanged');
    const poller = createPoller({
      config: testConfig(dataDir, { enabled: true, intervals: { system: 1, containers: 3600, drives: 3600, storage: 3600, sensors: 3600, gpu: 3600 } }),
      db,
      events,
      log,
      secrets,
      tuning: { spoolDir: `${dataDir}/spool-3`, sshBackoff: { baseMs: 50, maxMs: 200 }, probeBaseMs: 100, probeMaxMs: 500, sshReadyTimeoutMs: 2000 },
    });
    pollers.push(poller);
    await poller.start();
    // docker/smartctl may fail for the test user in a way that counts (DEGRADED); either way the host answered.
    const up = (s: string) => s === 'ONLINE' || s === 'DEGRADED';
    await until(() => statuses.seen.some((e) => e.deviceId === device.id && up(e.current)), 'first ONLINE');

    await sshd.kill();
    await until(() => statuses.seen.some((e) => e.deviceId === device.id && e.current === 'OFFLINE'), 'OFFLINE');
    const offline = await db.prisma.device.findUniqueOrThrow({ where: { id: device.id } });
    expect(offline.consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(offline.lastError).toMatch(/refused|closed|lost/i);

    await sshd.restart();
    await until(() => statuses.seen.filter((e) => e.deviceId === device.id && up(e.current)).length === 2, 'ONLINE again');
    await poller.stop();
    await statuses.stop();
    const transitions = statuses.seen.filter((e) => e.deviceId === device.id).map((e) => `${e.previous}>${e.current}`);
    const settled = transitions[0]!.split('>')[1]!;
    expect(transitions).toEqual([`UNKNOWN>${settled}`, `${settled}>OFFLINE`, `OFFLINE>${settled}`]);
    const back = await db.prisma.device.findUniqueOrThrow({ where: { id: device.id } });
    expect(back).toMatchObject({ status: settled, consecutiveFailures: 0 });
  });
});
