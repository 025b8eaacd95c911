/**
 * Operations that talk to the poller or a host: pollDevice and trustHostKey through a fake
 * PollerApi (and without one), Query.health's poller section, testDeviceConnection against an
 * in-process SSH server, and write-only credentials.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CollectorName } from '../../../src/collectors/types.ts';
import type { PollerApi } from '../../../src/graphql/context.ts';
import type { PollOutcome } from '../../../src/poller/index.ts';
import { writeBatch } from '../../../src/storage/index.ts';
import { emptyBatch } from '../../../src/storage/types.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { startFakeSshServer, type FakeSshServer } from '../../helpers/fake-ssh-server.ts';
import { containerRow, filesystemRow, systemRow } from '../../helpers/rows.ts';
import { generateEd25519Key } from '../../../src/transport/keys.ts';

let app: TestApp;
let ssh: FakeSshServer;
const FP = `SHA256:${'A'.repeat(43)}`;

beforeAll(async () => {
  app = await startTestApp();
  ssh = await startFakeSshServer({ onExec: ({ command, channel }) => { channel.write(command === 'uname -a' ? 'Linux fake 6.1.0 x86_64 GNU/Linux\n' : ''); channel.exit(0); channel.end(); } });
  await app.db.prisma.device.create({ data: { id: 'd1', name: 'd1', hostname: '127.0.0.1', port: ssh.port, username: 'mon', status: 'HOST_KEY_MISMATCH', pendingHostKey: FP } });
});
afterAll(async () => {
  await ssh?.stop();
  await app?.close();
});

/** A PollerApi that writes what a poll would and records what it was asked. */
function fakePoller(calls: string[]): PollerApi {
  const outcome = (deviceId: string, collectors: CollectorName[], over: Partial<PollOutcome> = {}): PollOutcome => ({
    deviceId, time: new Date(), collectors, outcomes: [], previousStatus: 'UNKNOWN', status: 'ONLINE', rows: 0, write: 'nothing', ms: 1, ...over,
  });
  return {
    async pollNow(deviceId, collectors = []) {
      calls.push(`poll ${deviceId} ${collectors.join(',')}`);
      const t = new Date();
      const b = emptyBatch();
      b.system.push(systemRow(deviceId, t, { cpuPercent: 77 }));
      b.filesystems.push(filesystemRow(deviceId, t, '/'));
      await writeBatch(app.db.prisma, b);
      return outcome(deviceId, collectors, {
        status: 'DEGRADED', rows: 2, write: 'committed', ms: 12.5,
        outcomes: [
          { collector: 'system', kind: 'ok', problems: [] },
          { collector: 'containers', kind: 'collector', reason: 'PERMISSION', message: 'docker: permission denied' },
        ],
      });
    },
    collectorStates: () => undefined,
    async deviceChanged(deviceId) {
      calls.push(`changed ${deviceId}`);
    },
    async trustHostKey(deviceId, fingerprint) {
      calls.push(`trust ${deviceId} ${fingerprint}`);
      await app.db.prisma.device.update({ where: { id: deviceId }, data: { hostKeyFingerprint: fingerprint, pendingHostKey: null, status: 'ONLINE' } });
      return outcome(deviceId, ['system']);
    },
    stats: () => ({
      devices: 3, scheduledDevices: 3, byStatus: { UNKNOWN: 0, ONLINE: 3, DEGRADED: 0, OFFLINE: 0, AUTH_FAILED: 0, HOST_KEY_MISMATCH: 0, DISABLED: 0 },
      inFlight: 1, waiting: 0, pollsLastMinute: 42, pollsTotal: 1000, pollsFailed: 7, skippedOverlaps: 0, slotsStarted: 0, slotsLate: 0, leaseSkipped: 0, checks: { checks: 0, pairs: 0, inFlight: 0, runs: 0, skippedOverlaps: 0 },
      writer: { queuedRows: 12, bufferedRows: 0, outage: false, committedRows: 0, flushes: 0, droppedRows: 0, spool: { segments: 1, records: 2, rows: 2, bytes: 4096, corruptRecords: 0, skippedRows: 0, quarantinedSegments: 0 } },
      connectionsOpen: 0, sshHandshakes: 0, leases: { instanceId: 'test', held: 3, liveInstances: 1 },
    }),
    waiting: () => 0,
  };
}

const POLL = `mutation ($id: ID!, $c: [CollectorName!]) { pollDevice(id: $id, collectors: $c) {
  __typename
  ... on PollResult { status previousStatus rows write durationMs collectors { collector ok error } metrics { cpuPercent } filesystems { mount } containers { name } device { name } }
  ... on UnavailableError { message service }
  ... on NotFoundError { entity }
} }`;

describe('pollDevice', () => {
  test('without a poller: UnavailableError', async () => {
    app.services.poller = undefined;
    const res = await app.gql<{ pollDevice: { __typename: string; service: string } }>(POLL, { id: 'd1' });
    expect(res.body.data!.pollDevice).toMatchObject({ __typename: 'UnavailableError', service: 'poller' });
  });

  test('returns the fresh samples and per-collector results; only this poll\'s rows', async () => {
    // An older container snapshot must not be reported as fresh.
    const old = emptyBatch();
    old.containers.push(containerRow('d1', new Date(Date.now() - 3_600_000), 'stale'));
    await writeBatch(app.db.prisma, old);
    const calls: string[] = [];
    app.services.poller = fakePoller(calls);
    const res = await app.gql<{ pollDevice: Record<string, unknown> }>(POLL, { id: 'd1', c: ['SYSTEM', 'CONTAINERS'] });
    expect(res.body.errors).toBeUndefined();
    expect(calls).toEqual(['poll d1 system,containers']);
    expect(res.body.data!.pollDevice).toEqual({
      __typename: 'PollResult', status: 'DEGRADED', previousStatus: 'UNKNOWN', rows: 2, write: 'committed', durationMs: 12.5,
      collectors: [{ collector: 'system', ok: true, error: null }, { collector: 'containers', ok: false, error: 'docker: permission denied' }],
      metrics: { cpuPercent: 77 }, filesystems: [{ mount: '/' }], containers: [], device: { name: 'd1' },
    });
    const missing = await app.gql<{ pollDevice: Record<string, unknown> }>(POLL, { id: 'nope' });
    expect(missing.body.data!.pollDevice).toEqual({ __typename: 'NotFoundError', entity: 'Device' });
  });
});

describe('Query.health', () => {
  test('reports the poller section and devices by status', async () => {
    app.services.poller = fakePoller([]);
    const res = await app.gql<{ health: Record<string, unknown> }>(`{ health { status poller { devices inFlight pollsPerMinute pollsFailed writeQueueRows spoolRecords spoolBytes outage } devicesByStatus { status count } } }`);
    expect(res.body.data!.health).toMatchObject({
      status: 'OK',
      poller: { devices: 3, inFlight: 1, pollsPerMinute: 42, pollsFailed: 7, writeQueueRows: 12, spoolRecords: 2, spoolBytes: 4096, outage: false },
    });
    expect(res.body.data!.health.devicesByStatus).toContainEqual({ status: 'HOST_KEY_MISMATCH', count: 1 });
    expect((res.body.data!.health.devicesByStatus as unknown[]).length).toBe(7);
  });

  test('a poller whose stats throw leaves the section null, not an error, and requests are still admitted', async () => {
    const boom = (): never => { throw new Error('boom'); };
    app.services.poller = { ...fakePoller([]), stats: boom, waiting: boom };
    // Past the admission's 100 ms window, so admitting the request reads the throwing count too.
    await new Promise((r) => setTimeout(r, 150));
    const b = await app.gql<{ health: { status: string; poller: unknown } }>('{ health { status poller { devices } } }');
    expect(b.body.data!.health).toEqual({ status: 'OK', poller: null });
    app.services.poller = undefined;
    const c = await app.gql<{ health: { poller: unknown } }>('{ health { poller { devices } } }');
    expect(c.body.data!.health.poller).toBeNull();
  });
});

describe('trustHostKey', () => {
  const TRUST = `mutation ($id: ID!, $fp: String!) { trustHostKey(id: $id, fingerprint: $fp) { __typename ... on Device { hostKeyFingerprint presentedHostKey status } ... on ValidationError { issues { path } } } }`;
  test('rejects a malformed fingerprint', async () => {
    const res = await app.gql<{ trustHostKey: unknown }>(TRUST, { id: 'd1', fp: 'SHA256:short' });
    expect(res.body.data!.trustHostKey).toEqual({ __typename: 'ValidationError', issues: [{ path: ['fingerprint'] }] });
  });
  test('without a poller it pins the key in the database', async () => {
    app.services.poller = undefined;
    const res = await app.gql<{ trustHostKey: unknown }>(TRUST, { id: 'd1', fp: FP });
    expect(res.body.data!.trustHostKey).toEqual({ __typename: 'Device', hostKeyFingerprint: FP, presentedHostKey: null, status: 'HOST_KEY_MISMATCH' });
  });
  test('with a poller it delegates (and the poller resumes polling)', async () => {
    const calls: string[] = [];
    app.services.poller = fakePoller(calls);
    const fp = `SHA256:${'B'.repeat(43)}`;
    const res = await app.gql<{ trustHostKey: unknown }>(TRUST, { id: 'd1', fp });
    expect(calls).toEqual([`trust d1 ${fp}`]);
    expect(res.body.data!.trustHostKey).toEqual({ __typename: 'Device', hostKeyFingerprint: fp, presentedHostKey: null, status: 'ONLINE' });
  });
  test('createDevice, updateDevice and deleteDevice tell the poller', async () => {
    const calls: string[] = [];
    app.services.poller = fakePoller(calls);
    const c = await app.gql<{ createDevice: { id: string } }>(`mutation { createDevice(input: { name: "told", transport: LOCAL }) { ... on Device { id } } }`);
    const id = c.body.data!.createDevice.id;
    await app.gql(`mutation ($id: ID!) { updateDevice(id: $id, input: { tags: ["x"] }) { __typename } }`, { id });
    await app.gql(`mutation ($id: ID!) { deleteDevice(id: $id) { __typename } }`, { id });
    expect(calls).toEqual([`changed ${id}`, `changed ${id}`, `changed ${id}`]);
    app.services.poller = undefined;
  });
});

describe('testDeviceConnection', () => {
  const TEST = `mutation ($input: TestConnectionInput!) { testDeviceConnection(input: $input) {
    __typename ... on ConnectionTest { ok uname hostKeyFingerprint hostKeyMatches errorKind error latencyMs } ... on ValidationError { issues { path } } } }`;
  type R = { testDeviceConnection: { __typename: string; ok: boolean; uname: string | null; hostKeyFingerprint: string | null; hostKeyMatches: boolean | null; errorKind: string | null; latencyMs: number | null } };

  test('connects, runs uname -a, reports the host key, saves nothing', async () => {
    const devices = await app.db.prisma.device.count();
    const res = await app.gql<R>(TEST, { input: { hostname: '127.0.0.1', port: ssh.port, username: 'mon', password: 'pw' } });
    expect(res.body.data!.testDeviceConnection).toMatchObject({ __typename: 'ConnectionTest', ok: true, uname: 'Linux fake 6.1.0 x86_64 GNU/Linux', hostKeyFingerprint: ssh.hostKeyFingerprint, hostKeyMatches: null, errorKind: null });
    expect(res.body.data!.testDeviceConnection.latencyMs).toBeGreaterThan(0);
    expect(await app.db.prisma.device.count()).toBe(devices);
    expect(await app.db.prisma.credential.count()).toBe(0);
  });

  test('a pinned key that differs → HOST_KEY with the presented fingerprint', async () => {
    const res = await app.gql<R>(TEST, { input: { hostname: '127.0.0.1', port: ssh.port, username: 'mon', privateKey: generateEd25519Key(), hostKeyFingerprint: FP } });
    expect(res.body.data!.testDeviceConnection).toMatchObject({ ok: false, errorKind: 'HOST_KEY', hostKeyFingerprint: ssh.hostKeyFingerprint, hostKeyMatches: false });
  });

  test('nothing listening → CONNECT; bad input → ValidationError', async () => {
    const res = await app.gql<R>(TEST, { input: { hostname: '127.0.0.1', port: 1, username: 'mon', password: 'x', timeoutSeconds: 3 } });
    expect(res.body.data!.testDeviceConnection).toMatchObject({ ok: false, errorKind: 'CONNECT' });
    const bad = await app.gql<{ testDeviceConnection: unknown }>(TEST, { input: { hostname: '$(reboot)', username: 'mon' } });
    expect(bad.body.data!.testDeviceConnection).toEqual({ __typename: 'ValidationError', issues: [{ path: ['input', 'hostname'] }] });
  });

  test('LOCAL runs uname -a here', async () => {
    const res = await app.gql<R>(TEST, { input: { transport: 'LOCAL' } });
    expect(res.body.data!.testDeviceConnection).toMatchObject({ ok: true, errorKind: null });
    expect(res.body.data!.testDeviceConnection.uname).toMatch(/^Linux /);
  });
});

describe('credentials', () => {
  test('ADMIN creates and deletes; the secret is write-only; in-use needs force', async () => {
    const key = generateEd25519Key({ passphrase: 'pp', rounds: 4 });
    const CREATE = `mutation ($input: CreateCredentialInput!) { createCredential(input: $input) { __typename ... on Credential { id name kind hasPassphrase deviceCount } ... on ValidationError { issues { path message } } ... on ConflictError { field } } }`;
    const noPass = await app.gql<{ createCredential: { issues: { path: string[] }[] } }>(CREATE, { input: { name: 'fleet', privateKey: key } });
    expect(noPass.body.data!.createCredential.issues.map((i) => i.path.join('.'))).toEqual(['input.passphrase']);
    const wrong = await app.gql<{ createCredential: { issues: { path: string[] }[] } }>(CREATE, { input: { name: 'fleet', privateKey: key, passphrase: 'nope' } });
    expect(wrong.body.data!.createCredential.issues.map((i) => i.path.join('.'))).toEqual(['input.passphrase']);
    const ok = await app.gql<{ createCredential: { id: string } }>(CREATE, { input: { name: 'fleet', privateKey: key, passphrase: 'pp' } });
    expect(ok.body.data!.createCredential).toMatchObject({ __typename: 'Credential', name: 'fleet', kind: 'PRIVATE_KEY', hasPassphrase: true, deviceCount: 0 });
    expect(JSON.stringify(ok.body)).not.toContain('PRIVATE KEY');
    const dup = await app.gql<{ createCredential: unknown }>(CREATE, { input: { name: 'fleet', password: 'x' } });
    expect(dup.body.data!.createCredential).toEqual({ __typename: 'ConflictError', field: 'name' });

    const credId = ok.body.data!.createCredential.id;
    const dev = await app.gql<{ createDevice: { __typename: string; credential: { name: string } } }>(
      `mutation ($c: ID!) { createDevice(input: { name: "uses-fleet", hostname: "h.lan", username: "mon", credentialId: $c }) { __typename ... on Device { credential { name } } } }`,
      { c: credId },
    );
    expect(dev.body.data!.createDevice).toEqual({ __typename: 'Device', credential: { name: 'fleet' } });
    const DELETE = `mutation ($id: ID!, $force: Boolean) { deleteCredential(id: $id, force: $force) { __typename ... on ConflictError { message } } }`;
    expect((await app.gql<{ deleteCredential: { __typename: string } }>(DELETE, { id: credId })).body.data!.deleteCredential.__typename).toBe('ConflictError');
    expect((await app.gql<{ deleteCredential: { __typename: string } }>(DELETE, { id: credId, force: true })).body.data!.deleteCredential.__typename).toBe('DeletedCredential');
  });

  test('no type in the schema has a field that could return a secret', async () => {
    const res = await app.gql<{ __schema: { types: { name: string; fields: { name: string }[] | null }[] } }>('{ __schema { types { name fields { name } } } }');
    const outputFields = res.body.data!.__schema.types.flatMap((t) => (t.fields ?? []).map((f) => `${t.name}.${f.name}`));
    // Booleans that say whether a secret is set (hasPassphrase) are fine; values are not.
    expect(outputFields.filter((f) => /privateKey|passphrase|password|encrypted|secret/i.test(f.split(".")[1]!.replace(/^has[A-Z]\w*$/, "")))).toEqual([]);
  });
});

describe('stored passwords stay with their host', () => {
  test('an OPERATOR cannot send a device\'s stored password to another host through testDeviceConnection', async () => {
    const admin = await app.gql<{ createApiToken: { token: string } }>('mutation { createApiToken(input: { name: "op", role: OPERATOR }) { ... on CreatedApiToken { token } } }');
    const op = admin.body.data!.createApiToken.token;
    const dev = await app.gql<{ createDevice: { id: string } }>(`mutation { createDevice(input: { name: "pw-host", hostname: "127.0.0.1", port: ${ssh.port}, username: "mon", password: "hunter2" }) { ... on Device { id } } }`, undefined, op);
    const id = dev.body.data!.createDevice.id;
    const Q = `mutation ($input: TestConnectionInput!) { testDeviceConnection(input: $input) { __typename ... on ConnectionTest { ok } ... on ValidationError { issues { path } } } }`;
    const own = await app.gql<{ testDeviceConnection: unknown }>(Q, { input: { deviceId: id } }, op);
    expect(own.body.data!.testDeviceConnection).toEqual({ __typename: 'ConnectionTest', ok: true });
    const elsewhere = await app.gql<{ testDeviceConnection: unknown }>(Q, { input: { deviceId: id, hostname: 'evil.example.com' } }, op);
    expect(elsewhere.body.data!.testDeviceConnection).toEqual({ __typename: 'ValidationError', issues: [{ path: ['input', 'hostname'] }] });
  });
});
