/**
 * Shared execution: identical subscriptions of the same role share one execution (one bus
 * listener, one group), different roles never do — a VIEWER gets the VIEWER result and an
 * ADMIN the ADMIN one for the same operation — and nothing is left behind after 10,000
 * subscribe/unsubscribe cycles.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEventBus } from '../../src/events/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { rawPeer } from './security/support.ts';
import { until } from '../helpers/until.ts';

/** An EventTarget that counts its listeners per event type. */
class CountingTarget extends EventTarget {
  readonly listeners = new Map<string, number>();
  override addEventListener(type: string, cb: EventListenerOrEventListenerObject | null, options?: AddEventListenerOptions | boolean): void {
    this.listeners.set(type, (this.listeners.get(type) ?? 0) + 1);
    super.addEventListener(type, cb, options);
  }
  override removeEventListener(type: string, cb: EventListenerOrEventListenerObject | null, options?: EventListenerOptions | boolean): void {
    this.listeners.set(type, (this.listeners.get(type) ?? 0) - 1);
    super.removeEventListener(type, cb, options);
  }
  /** Listeners of subscription topics (the device-tag cache keeps its one deviceChanged listener for good). */
  total(): number {
    return [...this.listeners].filter(([type]) => type !== 'deviceChanged').reduce((a, [, n]) => a + n, 0);
  }
}

let app: TestApp;
let target: CountingTarget;
let viewerToken: string;
let alertId: string;
const SECRET_URL = 'https://hooks.example.com/services/T000/B000/very-secret-path';

beforeAll(async () => {
  app = await startTestApp();
  target = new CountingTarget();
  app.services.events = createEventBus(target);
  const created = await app.gql<{ createApiToken: { token: string } }>('mutation { createApiToken(input: { name: "viewer", role: VIEWER }) { ... on CreatedApiToken { token } } }');
  viewerToken = created.body.data!.createApiToken.token;
  const device = await app.db.prisma.device.create({ data: { name: 'alpha', hostname: 'a.lan', username: 'm' } });
  const channel = await app.db.prisma.notificationChannel.create({ data: { name: 'slack', kind: 'SLACK', url: SECRET_URL } });
  const rule = await app.db.prisma.alertRule.create({ data: { name: 'cpu', metric: 'CPU_PERCENT', comparator: 'GT', threshold: 90, channelIds: [channel.id] } });
  alertId = (await app.db.prisma.alert.create({ data: { ruleId: rule.id, deviceId: device.id, state: 'FIRING', severity: 'WARNING' } })).id;
});
afterAll(async () => app?.close());

const client = (token: string): Client =>
  createClient({ url: app.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: true });

describe('groups', () => {
  test('a VIEWER group and an ADMIN group never share a result that differs by role; equal subscriptions of one role share one execution', async () => {
    const query = 'subscription ($dev: [ID!]) { alertChanged(deviceIds: $dev) { alertId alert { rule { channels { name url } } } } }';
    type Got = { alertChanged: { alertId: string; alert: { rule: { channels: { name: string; url: string }[] } } } };
    const clients = [client(viewerToken), client(viewerToken), client(app.adminToken)];
    const got: Got[][] = [[], [], []];
    // The same operation three times; the two VIEWERs send their (empty) variables in different shapes.
    clients.forEach((c, i) => c.subscribe<Got>({ query, variables: i === 1 ? { dev: null } : {} }, { next: (v) => void got[i]!.push(v.data!), error: (e) => { throw e; }, complete: () => undefined }));
    await until(() => app.server.operations.stats().members === 3, 'three subscriptions');
    expect(app.server.operations.stats().groups).toBeLessThanOrEqual(3);
    const groupsWithNullDev = app.server.operations.stats().groups;
    app.services.events.publish('alertChanged', { alertId, ruleId: 'r', deviceId: 'x', state: 'FIRING', at: new Date().toISOString() });
    await until(() => got.every((g) => g.length === 1), 'one event each');
    const urls = got.map((g) => g[0]!.alertChanged.alert.rule.channels[0]!.url);
    expect(urls[2]).toBe(SECRET_URL);
    expect(urls[0]).not.toContain('very-secret-path');
    expect(urls[1]).toBe(urls[0]);
    // Two roles, so at least two groups; one bus listener per group.
    expect(groupsWithNullDev).toBeGreaterThanOrEqual(2);
    expect(target.listeners.get('alertChanged')).toBe(groupsWithNullDev);
    await Promise.all(clients.map((c) => c.dispose()));
    await until(() => app.server.operations.stats().members === 0 && target.total() === 0, 'everything released');
  });

  test('identical subscriptions (whatever their spacing and variable order) form one group', async () => {
    const a = client(viewerToken);
    const b = client(viewerToken);
    const none = { next: () => undefined, error: () => undefined, complete: () => undefined };
    a.subscribe({ query: 'subscription ($d: [ID!], $t: [String!]) { metricCollected(deviceIds: $d, tags: $t) { cpuPercent } }', variables: { d: ['x'], t: ['y'] } }, none);
    b.subscribe({ query: 'subscription($d:[ID!],$t:[String!]){metricCollected(deviceIds:$d,tags:$t){cpuPercent}}', variables: { t: ['y'], d: ['x'] } }, none);
    await until(() => app.server.operations.stats().members === 2 && target.listeners.get('metricCollected') === 1, 'two subscriptions');
    expect(app.server.operations.stats().groups).toBe(1);
    expect(target.listeners.get('metricCollected')).toBe(1);
    await Promise.all([a.dispose(), b.dispose()]);
    await until(() => target.total() === 0, 'the listener released');
  });

  test('10,000 subscribe/unsubscribe cycles leave no group, member or bus listener behind', { timeout: 120_000 }, async () => {
    const peer = rawPeer(app);
    await peer.opened;
    peer.send({ type: 'connection_init', payload: { authorization: `Bearer ${app.adminToken}` } });
    await peer.next('connection_ack');
    const topics = ['metricCollected', 'deviceStatusChanged', 'containerStateChanged', 'filesystemsCollected'];
    for (let i = 0; i < 10_000; i += 20) {
      // Twenty live at once: some identical (shared groups), some not; then all completed.
      for (let k = 0; k < 20; k++) {
        const topic = topics[(i + k) % topics.length]!;
        peer.send({ id: `s${i + k}`, type: 'subscribe', payload: { query: `subscription { ${topic}(deviceId: "d${k % 3}") { deviceId } }` } });
      }
      if (i % 1000 === 0) await until(() => app.server.operations.stats().members === 20, `cycle ${i}: twenty subscriptions (${JSON.stringify(peer.messages.slice(0, 3))}, ${JSON.stringify(app.server.operations.stats())})`);
      for (let k = 0; k < 20; k++) peer.send({ id: `s${i + k}`, type: 'complete' });
    }
    await until(() => app.server.operations.stats().members === 0, 'every subscription gone', 30_000);
    expect(app.server.operations.stats()).toEqual({ groups: 0, members: 0 });
    await until(() => target.total() === 0, 'every bus listener removed');
    expect(target.listeners.get('deviceChanged') ?? 0).toBeLessThanOrEqual(1);
    // Still serving on the same socket.
    peer.send({ id: 'q', type: 'subscribe', payload: { query: '{ health { status } }' } });
    expect(await peer.next('next')).toEqual({ id: 'q', type: 'next', payload: { data: { health: { status: 'OK' } } } });
    peer.ws.close();
  });
});
