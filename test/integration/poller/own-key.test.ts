/**
 * Adding a host with infrapulse's own key, against a real OpenSSH server: before the line is in
 * authorized_keys the connection test says AUTH; with the restricted line Query.sshIdentity
 * gives (no forwarding, no pty) the test passes, a device created without any secret has no
 * credential, and the poller logs in with the same key and stores samples.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPoller, type Poller } from '../../../src/poller/index.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { startSshd, type TestSshd } from '../../helpers/sshd.ts';

let app: TestApp;
let sshd: TestSshd;
let poller: Poller | undefined;

beforeAll(async () => {
  [app, sshd] = await Promise.all([startTestApp(), startSshd()]);
});
afterAll(async () => {
  await poller?.stop();
  await sshd?.stop();
  await app?.close();
});

interface Identity {
  sshIdentity: { __typename: string; publicKey: string; fingerprint: string; authorizedKeysLine: string };
}
interface Tested {
  testDeviceConnection: { __typename: string; ok: boolean; problem: string | null; errorKind: string | null; uname: string | null; hostKeyFingerprint: string | null };
}
const TEST = `mutation ($input: TestConnectionInput!) { testDeviceConnection(input: $input) { __typename ... on ConnectionTest { ok problem errorKind uname hostKeyFingerprint } } }`;

describe("infrapulse's own SSH key", () => {
  it('is refused until authorized, then tests, registers and polls without any secret given', async () => {
    const identity = (await app.gql<Identity>('{ sshIdentity { __typename ... on SshIdentity { publicKey fingerprint authorizedKeysLine } } }')).body.data!.sshIdentity;
    expect(identity.__typename).toBe('SshIdentity');
    expect(identity.authorizedKeysLine).toBe(`no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty ${identity.publicKey}`);
    const input = { hostname: sshd.host, port: sshd.port, username: sshd.username };

    const refused = (await app.gql<Tested>(TEST, { input })).body.data!.testDeviceConnection;
    expect([refused.ok, refused.errorKind, refused.problem]).toEqual([false, 'AUTH', 'AUTH']);

    fs.appendFileSync(sshd.authorizedKeysPath, `${identity.authorizedKeysLine}\n`);
    const ok = (await app.gql<Tested>(TEST, { input })).body.data!.testDeviceConnection;
    expect([ok.ok, ok.problem, ok.hostKeyFingerprint]).toEqual([true, null, sshd.hostKeyFingerprint]);
    expect(ok.uname).toMatch(/^Linux /);

    const created = await app.gql<{ createDevice: { __typename: string; id: string; hasCredential: boolean } }>(
      `mutation ($input: CreateDeviceInput!) { createDevice(input: $input) { __typename ... on Device { id hasCredential } ... on ValidationError { issues { path message } } } }`,
      { input: { name: 'own-key', ...input, hostKeyFingerprint: ok.hostKeyFingerprint } },
    );
    const device = created.body.data!.createDevice;
    expect([device.__typename, device.hasCredential]).toEqual(['Device', false]);

    const { config, db, events, log, secrets } = app.services;
    poller = createPoller({ config, db, events, log, secrets, tuning: { spoolDir: `${config.dataDir}/spool` } });
    await poller.start();
    const polled = await poller.pollNow(device.id, ['system']);
    expect([polled.status, polled.write]).toEqual(['ONLINE', 'committed']);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM system_metrics WHERE device_id = $1', [device.id]);
    expect(rows[0].n).toBe(1);
  }, 60_000);
});
