/**
 * Notification channels as a way into the private network (issue #13, item 8). By default
 * (NOTIFY_ALLOW_PRIVATE_NETWORKS=false) nothing is sent to loopback, private or link-local
 * addresses: IP literals are refused when the channel is saved, names are checked by the
 * addresses they resolve to when a message is sent. And whatever a receiver answers, only the
 * status code and its standard reason come back: never the body (or the SMTP server's text).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../../src/alerts/channels/destination.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver } from './receivers.ts';

const CREATE = `mutation($input: CreateNotificationChannelInput!) { createNotificationChannel(input: $input) {
  __typename ... on NotificationChannel { id } ... on ValidationError { issues { path message } } } }`;
const TEST = `mutation($id: ID!) { testNotificationChannel(id: $id) { ... on ChannelTestResult { ok error } } }`;

type Created = { createNotificationChannel: { __typename: string; id?: string; issues?: { path: string[]; message: string }[] } };

async function create(app: TestApp, input: Record<string, unknown>) {
  return (await app.gql<Created>(CREATE, { input })).body.data!.createNotificationChannel;
}

async function test(app: TestApp, id: string) {
  return (await app.gql<{ testNotificationChannel: { ok: boolean; error: string | null } }>(TEST, { id })).body.data!.testNotificationChannel;
}

describe('private network destinations (default: refused)', () => {
  let app: TestApp;
  let hook: HttpReceiver;
  beforeAll(async () => {
    app = await startTestApp();
    hook = await startHttpReceiver();
  });
  afterAll(async () => {
    await hook?.close();
    await app?.close();
  });

  it('refuses loopback, private and link-local IP literals when a channel is saved', async () => {
    for (const url of [hook.url, 'http://10.1.2.3/hook', 'http://[::1]:8080/', 'http://169.254.169.254/latest/meta-data', 'http://192.168.1.10:8123/api', 'http://[::ffff:127.0.0.1]/']) {
      const res = await create(app, { name: `lit ${url}`, kind: 'WEBHOOK', url });
      expect(res.__typename, url).toBe('ValidationError');
      expect(res.issues![0]!.path).toEqual(['input', 'url']);
      expect(res.issues![0]!.message).toMatch(/NOTIFY_ALLOW_PRIVATE_NETWORKS/);
    }
    const mail = await create(app, { name: 'lit mail', kind: 'EMAIL', url: 'smtp://127.0.0.1:25', emailTo: ['a@example.com'] });
    expect(mail.__typename).toBe('ValidationError');
  });

  it('checks the addresses a name resolves to when it sends: nothing reaches a loopback receiver', async () => {
    const url = hook.url.replace('127.0.0.1', 'localhost');
    const ch = await create(app, { name: 'by name', kind: 'WEBHOOK', url: `${url}/hook` });
    expect(ch.__typename).toBe('NotificationChannel');
    const result = await test(app, ch.id!);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/localhost resolves only to private or local addresses/);
    expect(result.error).toMatch(/NOTIFY_ALLOW_PRIVATE_NETWORKS/);
    expect(hook.requests).toEqual([]);

    const smtp = await startSmtpReceiver();
    try {
      const mail = await create(app, { name: 'mail by name', kind: 'EMAIL', url: smtp.url.replace('127.0.0.1', 'localhost'), emailTo: ['ops@example.com'] });
      const sent = await test(app, mail.id!);
      expect(sent.ok).toBe(false);
      expect(sent.error).toMatch(/private or local/);
      expect(smtp.mails).toEqual([]);
    } finally {
      await smtp.close();
    }
  });

  it('a channel stored before (or written to the database directly) is refused at send time too', async () => {
    const row = await app.db.prisma.notificationChannel.create({ data: { name: 'old', kind: 'SLACK', url: `${hook.url}/old` } });
    const result = await test(app, row.id);
    expect(result).toMatchObject({ ok: false });
    expect(result.error).toMatch(/NOTIFY_ALLOW_PRIVATE_NETWORKS/);
    expect(hook.requests).toEqual([]);
  });

  it('knows the ranges', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd12:3456::1', '::ffff:10.0.0.1', '224.0.0.1']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['1.1.1.1', '172.32.0.1', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });
});

describe('with NOTIFY_ALLOW_PRIVATE_NETWORKS=true (a homelab notifying its own ntfy)', () => {
  let app: TestApp;
  let server: http.Server;
  let url = '';
  beforeAll(async () => {
    app = await startTestApp({ NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true' });
    // A receiver that answers with things a caller must never see.
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/redirect') {
          res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' });
          return res.end();
        }
        res.writeHead(500, 'INTERNAL-REASON-PHRASE', { 'content-type': 'text/plain' });
        res.end('INTERNAL-SECRET-BODY db_password=hunter2');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await app?.close();
  });

  it('sends to a loopback receiver, and an error says the status code only: no body, no reason phrase of the receiver, no redirect followed', async () => {
    const ch = await create(app, { name: 'local ntfy', kind: 'NTFY', url: `${url}/alerts` });
    expect(ch.__typename).toBe('NotificationChannel');
    const failed = await test(app, ch.id!);
    expect(failed.ok).toBe(false);
    expect(failed.error).toMatch(/answered 500 Internal Server Error$/);
    expect(failed.error).not.toMatch(/INTERNAL|hunter2/);
    const redirect = await create(app, { name: 'redirecting', kind: 'WEBHOOK', url: `${url}/redirect` });
    const moved = await test(app, redirect.id!);
    expect(moved.error).toMatch(/answered 302 Found$/);
  });

  it('an SMTP server\'s own words are not echoed either', async () => {
    const smtp = new SMTPServer({
      logger: false,
      disabledCommands: ['STARTTLS'],
      onAuth(_auth, _session, cb) {
        cb(new Error('INTERNAL-SMTP-TEXT user table at 10.0.0.5'));
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (smtp.server.address() as AddressInfo).port;
      const ch = await create(app, { name: 'smtp', kind: 'EMAIL', url: `smtp://127.0.0.1:${port}`, emailTo: ['ops@example.com'], smtpUsername: 'alerts', secret: 'pw' });
      const result = await test(app, ch.id!);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/^SMTP .*EAUTH/);
      expect(result.error).not.toMatch(/INTERNAL|10\.0\.0\.5/);
    } finally {
      await new Promise<void>((r) => smtp.close(() => r()));
    }
  });
});
