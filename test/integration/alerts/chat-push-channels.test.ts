/**
 * Slack, Discord, ntfy and Gotify channels against real HTTP receivers on loopback (issue #14,
 * item 11), each checked for the request its service documents:
 * - Slack incoming webhook: POST JSON with `text` (api.slack.com/messaging/webhooks);
 * - Discord webhook: POST JSON with `content`, at most 2000 characters (discord.com/developers/docs/resources/webhook);
 * - ntfy: POST the message as the body to the topic URL, `Title`, `Priority` (1-5), `Tags` headers,
 *   an access token as `Authorization: Bearer` (docs.ntfy.sh/publish);
 * - Gotify: POST JSON `{ title, message, priority }` to `<server>/message`, the application token
 *   in `X-Gotify-Key` or `?token=` (gotify.net/docs/pushmsg).
 * Through the API (createNotificationChannel + testNotificationChannel) and, for severities and
 * resolutions, through the senders with a firing message.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendDiscord, sendSlack } from '../../../src/alerts/channels/chat.ts';
import { sendGotify, sendNtfy } from '../../../src/alerts/channels/push.ts';
import type { ResolvedChannel } from '../../../src/alerts/channels/types.ts';
import type { NotificationMessage } from '../../../src/alerts/message.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { startHttpReceiver, type HttpReceiver } from './receivers.ts';

let app: TestApp;
let rx: HttpReceiver;

beforeAll(async () => {
  app = await startTestApp({ NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true' });
  rx = await startHttpReceiver();
}, 120_000);

afterAll(async () => {
  await rx?.close();
  await app?.close();
});

beforeEach(() => {
  rx.requests.length = 0;
});

const CREATE = `mutation($input: CreateNotificationChannelInput!) { createNotificationChannel(input: $input) {
  __typename ... on NotificationChannel { id } ... on ValidationError { message } } }`;
const TEST = 'mutation($id: ID!) { testNotificationChannel(id: $id) { ... on ChannelTestResult { ok attempts error } } }';

/** Creates a channel through the API, sends its test message, returns the one request received. */
async function viaApi(kind: string, url: string, secret?: string) {
  const created = await app.gql<{ createNotificationChannel: { __typename: string; id: string; message?: string } }>(CREATE, { input: { name: `${kind}-${Math.random()}`, kind, url, ...(secret ? { secret } : {}) } });
  const channel = created.body.data!.createNotificationChannel;
  expect(channel.__typename, channel.message).toBe('NotificationChannel');
  const test = await app.gql<{ testNotificationChannel: { ok: boolean; error: string | null } }>(TEST, { id: channel.id });
  expect(test.body.data!.testNotificationChannel).toMatchObject({ ok: true, error: null });
  const [req] = await rx.waitFor(1);
  expect(rx.requests).toHaveLength(1);
  return req!;
}

const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

describe('through the API (test message)', () => {
  it('SLACK posts {"text"} as an incoming webhook expects', async () => {
    const req = await viaApi('SLACK', `${rx.url}/services/T000/B000/XXXX`);
    expect([req.method, req.path, req.headers['content-type']]).toEqual(['POST', '/services/T000/B000/XXXX', 'application/json']);
    const body = json(req.body);
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toMatch(/^\[TEST\] /);
  });

  it('DISCORD posts {"content"} to the webhook URL', async () => {
    const req = await viaApi('DISCORD', `${rx.url}/api/webhooks/123/abc`);
    expect([req.method, req.path, req.headers['content-type']]).toEqual(['POST', '/api/webhooks/123/abc', 'application/json']);
    const body = json(req.body);
    expect(Object.keys(body)).toEqual(['content']);
    expect(body.content).toMatch(/^\[TEST\] /);
  });

  it('NTFY posts the text to the topic with Title, Priority, Tags and the token as a bearer', async () => {
    const req = await viaApi('NTFY', `${rx.url}/infrapulse-alerts`, 'tk_ntfytoken123');
    expect([req.method, req.path]).toEqual(['POST', '/infrapulse-alerts']);
    expect(req.headers['content-type']).toMatch(/^text\/plain/);
    expect(req.headers.title).toMatch(/^\[TEST\] /);
    expect(req.headers.priority).toMatch(/^[1-5]$/);
    expect(req.headers.tags).toContain('infrapulse');
    expect(req.headers.authorization).toBe('Bearer tk_ntfytoken123');
    expect(req.body.length).toBeGreaterThan(0);
    expect(() => JSON.parse(req.body)).toThrow();
  });

  it('GOTIFY posts {title, message, priority} to <server>/message with the app token in X-Gotify-Key', async () => {
    const req = await viaApi('GOTIFY', `${rx.url}/`, 'AppTokenGotify1');
    expect([req.method, req.path, req.headers['content-type']]).toEqual(['POST', '/message', 'application/json']);
    expect(req.headers['x-gotify-key']).toBe('AppTokenGotify1');
    const body = json(req.body);
    expect(Object.keys(body).sort()).toEqual(['message', 'priority', 'title']);
    expect(body.title).toMatch(/^\[TEST\] /);
    expect(Number.isInteger(body.priority)).toBe(true);
  });

  it('GOTIFY also takes the URL Gotify documents, <server>/message?token=…', async () => {
    const req = await viaApi('GOTIFY', `${rx.url}/gotify/message?token=AppTokenInQuery`);
    expect([req.method, req.path]).toEqual(['POST', '/gotify/message?token=AppTokenInQuery']);
    expect(Object.keys(json(req.body)).sort()).toEqual(['message', 'priority', 'title']);
  });
});

const firing: NotificationMessage = {
  event: 'firing',
  alertId: 'a1',
  state: 'FIRING',
  severity: 'CRITICAL',
  rule: { id: 'r1', name: 'Disk almost full', metric: 'FILESYSTEM_USED_PERCENT' },
  device: { id: 'd1', name: 'nas-01' },
  subject: '/var',
  value: '97.5',
  message: 'filesystem used % of /var is 97.5 (> 95)',
  at: '2026-12-01T10:00:00.000Z',
  firedAt: '2026-12-01T10:00:00.000Z',
  resolvedAt: null,
};
const resolved: NotificationMessage = { ...firing, event: 'resolved', state: 'RESOLVED', resolvedAt: '2026-12-01T10:05:00.000Z' };
const options = { timeoutMs: 5000, allowPrivateNetworks: true };
const channel = (kind: ResolvedChannel['kind'], url: string, secret: string | null = null): ResolvedChannel => ({ id: 'c', name: 'c', kind, url, config: {}, secret });

describe('alert messages by severity', () => {
  it('Slack and Discord carry title, message and severity; Discord stays within 2000 characters', async () => {
    await sendSlack(channel('SLACK', `${rx.url}/slack`), firing, options);
    await sendDiscord(channel('DISCORD', `${rx.url}/discord`), { ...firing, message: 'x'.repeat(5000) }, options);
    const [slack, discord] = await rx.waitFor(2);
    expect(json(slack!.body).text).toBe('[FIRING] Disk almost full on nas-01 (/var)\nfilesystem used % of /var is 97.5 (> 95)\nseverity CRITICAL · 2026-12-01T10:00:00.000Z');
    expect(String(json(discord!.body).content)).toHaveLength(2000);
  });

  it('a firing CPU alert\'s top processes are listed in chat and push messages', async () => {
    const top: NotificationMessage = { ...firing, topProcesses: [{ pid: 1402, user: 'app', command: 'python3 worker.py', cpuPercent: 85.2, memoryBytes: 512 * 1024 * 1024 }, { pid: 7, user: null, command: 'dd', cpuPercent: null, memoryBytes: null }] };
    await sendSlack(channel('SLACK', `${rx.url}/slack`), top, options);
    await sendNtfy(channel('NTFY', `${rx.url}/t`), top, options);
    const [slack, ntfy] = await rx.waitFor(2);
    const list = 'top processes:\n  python3 worker.py (pid 1402, app): 85.2 % CPU, 512 MiB\n  dd (pid 7): ? % CPU, ? MiB';
    expect(json(slack!.body).text).toBe(`[FIRING] Disk almost full on nas-01 (/var)\n${firing.message}\n${list}\nseverity CRITICAL · 2026-12-01T10:00:00.000Z`);
    expect(ntfy!.body).toBe(`${firing.message}\n${list}`);
  });

  it('ntfy: CRITICAL is priority 5 (max), a resolution 3 (default) with a check mark tag', async () => {
    await sendNtfy(channel('NTFY', `${rx.url}/t`), firing, options);
    await sendNtfy(channel('NTFY', `${rx.url}/t`), resolved, options);
    const [fire, done] = await rx.waitFor(2);
    expect([fire!.headers.priority, fire!.headers.tags, fire!.body]).toEqual(['5', 'rotating_light,infrapulse', firing.message]);
    expect(fire!.headers.title).toBe('[FIRING] Disk almost full on nas-01 (/var)');
    expect(fire!.headers.authorization).toBeUndefined();
    expect([done!.headers.priority, done!.headers.tags]).toEqual(['3', 'white_check_mark,infrapulse']);
  });

  it('Gotify: CRITICAL is priority 8, a resolution 2', async () => {
    await sendGotify(channel('GOTIFY', rx.url, 'k'), firing, options);
    await sendGotify(channel('GOTIFY', rx.url, 'k'), resolved, options);
    const [fire, done] = await rx.waitFor(2);
    expect(json(fire!.body)).toEqual({ title: '[FIRING] Disk almost full on nas-01 (/var)', message: firing.message, priority: 8 });
    expect(json(done!.body).priority).toBe(2);
  });

  it('a receiver\'s refusal is an error naming the status', async () => {
    rx.failNext(404);
    await expect(sendSlack(channel('SLACK', `${rx.url}/gone`), firing, options)).rejects.toThrow(/answered 404 Not Found/);
  });
});
