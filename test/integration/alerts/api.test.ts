/** The alerting GraphQL API over a real server: validation with paths, write-only secrets, roles, acknowledgement, pagination, test sends. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../../src/tokens.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { startHttpReceiver, type HttpReceiver } from './receivers.ts';

let app: TestApp;
let hook: HttpReceiver;
let viewer: string;
let deviceId: string;

beforeAll(async () => {
  // The receivers are on loopback, which channels may reach only when allowed (ssrf.test.ts covers the default).
  app = await startTestApp({ NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true' });
  hook = await startHttpReceiver();
  viewer = (await createApiToken(app.db.prisma, { name: 'viewer', role: 'VIEWER' })).token;
  deviceId = (await app.db.prisma.device.create({ data: { name: 'db-1', hostname: 'db-1.example', tags: ['prod'] } })).id;
});

afterAll(async () => {
  await hook.close();
  await app.close();
});

const CREATE_RULE = `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) {
  __typename ... on AlertRule { id name metric threshold clearThreshold value channelIds deviceIds }
  ... on ValidationError { issues { path message } } ... on ConflictError { field } } }`;

const CREATE_CHANNEL = `mutation($input: CreateNotificationChannelInput!) { createNotificationChannel(input: $input) {
  __typename ... on NotificationChannel { id name kind url hasSecret } ... on ValidationError { issues { path message } } } }`;

interface Issues {
  issues: { path: string[]; message: string }[];
}

describe('alerting API', () => {
  it('creates a channel; the secret is write-only and sealed; a test send reaches the receiver', async () => {
    const res = await app.gql<{ createNotificationChannel: { __typename: string; id: string; url: string; hasSecret: boolean } }>(CREATE_CHANNEL, {
      input: { name: 'ops hook', kind: 'WEBHOOK', url: `${hook.url}/hooks/s3cr3t`, secret: 'hmac-key' },
    });
    const ch = res.body.data!.createNotificationChannel;
    expect(ch).toMatchObject({ __typename: 'NotificationChannel', hasSecret: true, url: `${hook.url}/hooks/s3cr3t` });
    expect(JSON.stringify(res.body)).not.toContain('hmac-key');
    const row = await app.db.prisma.notificationChannel.findUniqueOrThrow({ where: { id: ch.id } });
    expect(Buffer.from(row.encryptedSecret!).toString('utf8')).not.toContain('hmac-key');
    expect(app.services.secrets.decrypt(row.encryptedSecret!)).toBe('hmac-key');

    const test = await app.gql<{ testNotificationChannel: { ok: boolean; attempts: number } }>(`mutation($id: ID!) { testNotificationChannel(id: $id) { ... on ChannelTestResult { ok attempts error } } }`, { id: ch.id });
    expect(test.body.data!.testNotificationChannel).toMatchObject({ ok: true, attempts: 1 });
    const [req] = await hook.waitFor(1);
    expect(JSON.parse(req!.body)).toMatchObject({ event: 'test' });
    expect(req!.headers['x-infrapulse-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);

    const asViewer = await app.gql<{ notificationChannels: { url: string }[] }>(`{ notificationChannels { url hasSecret } }`, {}, viewer);
    expect(asViewer.body.data!.notificationChannels[0]!.url).not.toContain('s3cr3t');
  });

  it('rejects bad channel input with paths and writes nothing', async () => {
    const before = await app.db.prisma.notificationChannel.count();
    const res = await app.gql<{ createNotificationChannel: Issues & { __typename: string } }>(CREATE_CHANNEL, { input: { name: '', kind: 'SLACK', url: 'file:///etc/passwd' } });
    expect(res.body.data!.createNotificationChannel.__typename).toBe('ValidationError');
    expect(res.body.data!.createNotificationChannel.issues.map((i) => i.path.join('.'))).toEqual(['input.name', 'input.url']);
    expect(await app.db.prisma.notificationChannel.count()).toBe(before);
  });

  it('refuses a URL with CR/LF in it, and shows VIEWERs an EMAIL channel by its SMTP server', async () => {
    const crlf = await app.gql<{ createNotificationChannel: Issues & { __typename: string } }>(CREATE_CHANNEL, { input: { name: 'crlf', kind: 'WEBHOOK', url: `${hook.url}/a\r\nX-Injected: 1` } });
    expect(crlf.body.data!.createNotificationChannel.issues).toEqual([{ path: ['input', 'url'], message: 'must not contain control characters' }]);
    await app.gql(CREATE_CHANNEL, { input: { name: 'mail for viewers', kind: 'EMAIL', url: 'smtp://mail.example.com:587', emailTo: ['ops@example.com'] } });
    const list = await app.gql<{ notificationChannels: { name: string; url: string }[] }>(`{ notificationChannels { name url } }`, {}, viewer);
    expect(list.body.data!.notificationChannels.find((c) => c.name === 'mail for viewers')!.url).toBe('smtp://mail.example.com:587');
  });

  it('creates, validates, updates and deletes rules', async () => {
    const ok = await app.gql<{ createAlertRule: { __typename: string; id: string; threshold: number } }>(CREATE_RULE, {
      input: { name: 'cpu hot', metric: 'CPU_PERCENT', comparator: 'GT', threshold: 90, clearThreshold: 80, forSeconds: 120, repeatSeconds: 3600, severity: 'CRITICAL', deviceIds: [deviceId], tags: ['prod'] },
    });
    expect(ok.body.data!.createAlertRule).toMatchObject({ __typename: 'AlertRule', threshold: 90 });
    const id = ok.body.data!.createAlertRule.id;

    const before = await app.db.prisma.alertRule.count();
    const bad = await app.gql<{ createAlertRule: Issues }>(CREATE_RULE, {
      input: { name: 'x', metric: 'FILESYSTEM_USED_PERCENT', comparator: 'GT', threshold: 90, clearThreshold: 95, forSeconds: -5, repeatSeconds: 1, deviceIds: ['nope'] },
    });
    expect(bad.body.data!.createAlertRule.issues.map((i) => i.path.join('.'))).toEqual(['input.clearThreshold', 'input.forSeconds', 'input.repeatSeconds']);
    const missing = await app.gql<{ createAlertRule: Issues }>(CREATE_RULE, { input: { name: 'y', metric: 'DEVICE_STATUS', comparator: 'EQ', value: 'OFFLINE', channelIds: ['nope'], deviceIds: [deviceId, 'gone'] } });
    expect(missing.body.data!.createAlertRule.issues.map((i) => i.path.join('.'))).toEqual(['input.deviceIds.1', 'input.channelIds.0']);
    expect(await app.db.prisma.alertRule.count()).toBe(before);

    const dup = await app.gql<{ createAlertRule: { __typename: string } }>(CREATE_RULE, { input: { name: 'cpu hot', metric: 'LOAD1', comparator: 'GT', threshold: 4 } });
    expect(dup.body.data!.createAlertRule.__typename).toBe('ConflictError');

    const upd = await app.gql<{ updateAlertRule: { __typename: string; clearThreshold: number | null; threshold: number } }>(
      `mutation($id: ID!) { updateAlertRule(id: $id, input: { threshold: 95, clearThreshold: null }) { __typename ... on AlertRule { threshold clearThreshold } } }`,
      { id },
    );
    expect(upd.body.data!.updateAlertRule).toEqual({ __typename: 'AlertRule', threshold: 95, clearThreshold: null });

    const asViewer = await app.gql(CREATE_RULE, { input: { name: 'v', metric: 'LOAD1', comparator: 'GT', threshold: 4 } }, viewer);
    expect(asViewer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const del = await app.gql<{ deleteAlertRule: { __typename: string } }>(`mutation($id: ID!) { deleteAlertRule(id: $id) { __typename } }`, { id });
    expect(del.body.data!.deleteAlertRule.__typename).toBe('DeletedAlertRule');
  });

  it('lists alerts with pagination and filters, acknowledges a firing alert and publishes the change', async () => {
    const r = await app.db.prisma.alertRule.create({ data: { name: 'disk', metric: 'FILESYSTEM_USED_PERCENT', comparator: 'GT', threshold: 90 } });
    const base = Date.parse('2026-11-27T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      await app.db.prisma.alert.create({ data: { ruleId: r.id, deviceId, subject: `/m${i}`, state: i === 4 ? 'FIRING' : 'RESOLVED', severity: 'WARNING', pendingSince: new Date(base + i * 60_000), resolvedAt: i === 4 ? null : new Date(base + i * 60_000 + 1000) } });
    }
    const Q = `query($after: String, $state: [AlertState!], $since: DateTime) { alerts(first: 2, after: $after, state: $state, deviceId: "${deviceId}", since: $since) {
      edges { cursor node { id subject state deviceName rule { name } } } pageInfo { hasNextPage endCursor } } }`;
    type Page = { alerts: { edges: { node: { id: string; subject: string; state: string; deviceName: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: { body: { data?: Page } } = await app.gql<Page>(Q, { after }, viewer);
      const page: Page['alerts'] = res.body.data!.alerts;
      seen.push(...page.edges.map((e) => e.node.subject));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['/m4', '/m3', '/m2', '/m1', '/m0']);
    const firing = await app.gql<Page>(Q, { state: ['FIRING'] }, viewer);
    expect(firing.body.data!.alerts.edges.map((e) => [e.node.subject, e.node.deviceName])).toEqual([['/m4', 'db-1']]);
    const since = await app.gql<Page>(Q, { since: new Date(base + 2 * 60_000 + 500).toISOString() }, viewer);
    expect(since.body.data!.alerts.edges.map((e) => e.node.subject)).toEqual(['/m4', '/m3']);

    const id = firing.body.data!.alerts.edges[0]!.node.id;
    const events: string[] = [];
    const sub = (async () => {
      for await (const e of app.services.events.subscribe('alertChanged')) {
        events.push(e.state);
        return;
      }
    })();
    const ACK = `mutation($id: ID!) { acknowledgeAlert(id: $id) { __typename ... on Alert { state acknowledgedBy } ... on ConflictError { message } } }`;
    const ack = await app.gql<{ acknowledgeAlert: { __typename: string; state: string; acknowledgedBy: string } }>(ACK, { id });
    expect(ack.body.data!.acknowledgeAlert).toEqual({ __typename: 'Alert', state: 'ACKNOWLEDGED', acknowledgedBy: 'test admin' });
    await sub;
    expect(events).toEqual(['ACKNOWLEDGED']);
    const resolved = await app.db.prisma.alert.findFirstOrThrow({ where: { state: 'RESOLVED' } });
    const conflict = await app.gql<{ acknowledgeAlert: { __typename: string } }>(ACK, { id: resolved.id });
    expect(conflict.body.data!.acknowledgeAlert.__typename).toBe('ConflictError');
  });

  it('creates silences that must expire and match something', async () => {
    const M = `mutation($input: CreateSilenceInput!) { createSilence(input: $input) { __typename ... on Silence { id active matchers { tags } createdBy } ... on ValidationError { issues { path } } } }`;
    const ok = await app.gql<{ createSilence: { __typename: string; active: boolean; createdBy: string } }>(M, { input: { matchers: { tags: ['prod'] }, endsAt: new Date(Date.now() + 3_600_000).toISOString(), comment: 'patching' } });
    expect(ok.body.data!.createSilence).toMatchObject({ __typename: 'Silence', active: true, createdBy: 'test admin' });
    const bad = await app.gql<{ createSilence: Issues }>(M, { input: { matchers: {}, endsAt: new Date(Date.now() - 1000).toISOString() } });
    expect(bad.body.data!.createSilence.issues.map((i) => i.path.join('.'))).toEqual(['input.matchers', 'input.endsAt']);
    const list = await app.gql<{ silences: unknown[] }>(`{ silences(active: true) { id } }`, {}, viewer);
    expect(list.body.data!.silences).toHaveLength(1);
  });

  it('refuses to delete a channel a rule uses, and built-in rules', async () => {
    const ch = await app.db.prisma.notificationChannel.create({ data: { name: 'used', kind: 'SLACK', url: 'https://hooks.example.com/x' } });
    await app.db.prisma.alertRule.create({ data: { name: 'uses it', metric: 'LOAD1', comparator: 'GT', threshold: 5, channelIds: [ch.id] } });
    const del = await app.gql<{ deleteNotificationChannel: { __typename: string } }>(`mutation($id: ID!) { deleteNotificationChannel(id: $id) { __typename } }`, { id: ch.id });
    expect(del.body.data!.deleteNotificationChannel.__typename).toBe('ConflictError');
    const builtin = await app.db.prisma.alertRule.create({ data: { name: 'shipped', metric: 'DRIVE_HEALTH', comparator: 'EQ', value: 'CRITICAL', builtin: true } });
    const delRule = await app.gql<{ deleteAlertRule: { __typename: string } }>(`mutation($id: ID!) { deleteAlertRule(id: $id) { __typename } }`, { id: builtin.id });
    expect(delRule.body.data!.deleteAlertRule.__typename).toBe('ConflictError');
  });
});
