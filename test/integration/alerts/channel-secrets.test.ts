/**
 * What an OPERATOR can reach of a channel secret an ADMIN stored (issue #13, item 2): nothing.
 * Changing where a channel sends (URL, kind, SMTP username, TLS) while it holds a secret takes
 * ADMIN, or the secret given again (or removed) in the same request; a test send after a
 * refused change still goes to the ADMIN's destination. Real receivers on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../../src/tokens.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { startHttpReceiver, type HttpReceiver } from './receivers.ts';

let app: TestApp;
let owned: HttpReceiver;
let evil: HttpReceiver;
let operator: string;

beforeAll(async () => {
  app = await startTestApp({ NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true' });
  owned = await startHttpReceiver();
  evil = await startHttpReceiver();
  operator = (await createApiToken(app.db.prisma, { name: 'operator', role: 'OPERATOR' })).token;
});

afterAll(async () => {
  await owned?.close();
  await evil?.close();
  await app?.close();
});

const CREATE = `mutation($input: CreateNotificationChannelInput!) { createNotificationChannel(input: $input) { __typename ... on NotificationChannel { id } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateNotificationChannelInput!) { updateNotificationChannel(id: $id, input: $input) {
  __typename ... on NotificationChannel { url kind hasSecret requireTls smtpUsername } ... on ValidationError { issues { path message } } } }`;
const TEST = `mutation($id: ID!) { testNotificationChannel(id: $id) { ... on ChannelTestResult { ok } } }`;

interface Updated {
  updateNotificationChannel: { __typename: string; url?: string; kind?: string; hasSecret?: boolean; requireTls?: boolean; smtpUsername?: string | null; issues?: { path: string[]; message: string }[] };
}

async function channel(input: Record<string, unknown>): Promise<string> {
  const res = await app.gql<{ createNotificationChannel: { id: string } }>(CREATE, { input });
  return res.body.data!.createNotificationChannel.id;
}

const update = (id: string, input: Record<string, unknown>, token?: string) => app.gql<Updated>(UPDATE, { id, input }, token);

describe('channel secrets and OPERATOR tokens', () => {
  it('an OPERATOR cannot point a channel holding a secret somewhere else and have it sent there', async () => {
    const id = await channel({ name: 'phone', kind: 'NTFY', url: `${owned.url}/alerts`, secret: 'tk_ntfy_admin_secret' });
    const moved = await update(id, { url: `${evil.url}/steal` }, operator);
    expect(moved.body.data!.updateNotificationChannel.__typename).toBe('ValidationError');
    expect(moved.body.data!.updateNotificationChannel.issues!.map((i) => i.path)).toEqual([['input', 'url']]);
    expect(moved.body.data!.updateNotificationChannel.issues![0]!.message).toMatch(/ADMIN/);

    const sent = await app.gql<{ testNotificationChannel: { ok: boolean } }>(TEST, { id }, operator);
    expect(sent.body.data!.testNotificationChannel.ok).toBe(true);
    expect(evil.requests).toEqual([]);
    const [got] = await owned.waitFor(1);
    expect(got!.headers.authorization).toBe('Bearer tk_ntfy_admin_secret');
  });

  it('switching the kind is a new destination too (a WEBHOOK HMAC key would become an ntfy bearer token)', async () => {
    const id = await channel({ name: 'signed hook', kind: 'WEBHOOK', url: `${evil.url}/hook`, secret: 'hmac-key-never-sent' });
    const res = await update(id, { kind: 'NTFY' }, operator);
    expect(res.body.data!.updateNotificationChannel.issues!.map((i) => i.path)).toEqual([['input', 'kind']]);
    await app.gql(TEST, { id }, operator);
    await evil.waitFor(1);
    expect(JSON.stringify(evil.requests)).not.toContain('hmac-key-never-sent');
    evil.requests.length = 0;
  });

  it('for EMAIL: the SMTP host, the username and TLS are where the password goes', async () => {
    const id = await channel({ name: 'mail', kind: 'EMAIL', url: 'smtps://mail.example.com:465', secret: 'smtp-password', emailTo: ['ops@example.com'], smtpUsername: 'alerts', requireTls: true });
    const host = await update(id, { url: 'smtp://evil.example.com:25' }, operator);
    expect(host.body.data!.updateNotificationChannel.issues!.map((i) => i.path)).toEqual([['input', 'url']]);
    const user = await update(id, { smtpUsername: 'someone-else' }, operator);
    expect(user.body.data!.updateNotificationChannel.issues!.map((i) => i.path)).toEqual([['input', 'smtpUsername']]);
    const tls = await update(id, { requireTls: false }, operator);
    expect(tls.body.data!.updateNotificationChannel.issues!.map((i) => i.path)).toEqual([['input', 'requireTls']]);
    // Recipients are not where the password goes: an OPERATOR may change them.
    const to = await update(id, { emailTo: ['oncall@example.com'] }, operator);
    expect(to.body.data!.updateNotificationChannel.__typename).toBe('NotificationChannel');
    const row = await app.db.prisma.notificationChannel.findUniqueOrThrow({ where: { id } });
    expect(row.url).toBe('smtps://mail.example.com:465');
    expect(app.services.secrets.decrypt(row.encryptedSecret!)).toBe('smtp-password');
  });

  it('with the secret given again or removed, or as ADMIN, the destination may change', async () => {
    const id = await channel({ name: 'gotify', kind: 'GOTIFY', url: `${owned.url}/g1`, secret: 'gotify-app-key' });
    const own = await update(id, { url: `${owned.url}/g2`, secret: 'operator-own-key' }, operator);
    expect(own.body.data!.updateNotificationChannel).toMatchObject({ __typename: 'NotificationChannel', url: `${owned.url}/g2`, hasSecret: true });
    expect(app.services.secrets.decrypt((await app.db.prisma.notificationChannel.findUniqueOrThrow({ where: { id } })).encryptedSecret!)).toBe('operator-own-key');
    const cleared = await update(id, { url: `${owned.url}/g3`, secret: null }, operator);
    expect(cleared.body.data!.updateNotificationChannel).toMatchObject({ __typename: 'NotificationChannel', hasSecret: false });

    const adminOwned = await channel({ name: 'gotify 2', kind: 'GOTIFY', url: `${owned.url}/h1`, secret: 'kept' });
    const byAdmin = await update(adminOwned, { url: `${owned.url}/h2` });
    expect(byAdmin.body.data!.updateNotificationChannel).toMatchObject({ __typename: 'NotificationChannel', url: `${owned.url}/h2`, hasSecret: true });
    // A channel without a secret has nothing to leak: an OPERATOR moves it freely.
    const plain = await channel({ name: 'slack', kind: 'SLACK', url: `${owned.url}/s1` });
    expect((await update(plain, { url: `${owned.url}/s2` }, operator)).body.data!.updateNotificationChannel.__typename).toBe('NotificationChannel');
  });
});
