/**
 * Live subscriptions through real clients: graphql-ws and graphql-sse each receive exactly
 * the subscribed device's samples, in publish order; unsubscribing removes the server-side
 * listener at once (counted on the bus's EventTarget), even when no further event arrives.
 * Status, container and drive changes are filtered the same way; without an id, every device.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEventBus, toWire } from '../../src/events/index.ts';
import { activeSubscriptions } from '../../src/graphql/types/live.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { systemRow } from '../helpers/rows.ts';
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
  count(type: string): number {
    return this.listeners.get(type) ?? 0;
  }
}

let app: TestApp;
let target: CountingTarget;

beforeAll(async () => {
  app = await startTestApp();
  target = new CountingTarget();
  // Every request's context spreads `services`, so the server uses this bus from now on.
  app.services.events = createEventBus(target);
  await app.db.prisma.device.create({ data: { id: 'dev-a', name: 'alpha', hostname: 'a.lan', username: 'm' } });
});
afterAll(async () => app?.close());

const METRICS = 'subscription ($id: ID) { metricCollected(deviceId: $id) { deviceId cpuPercent time } }';
type Sample = { deviceId: string; cpuPercent: number; time: string };

/** Publishes 20 samples for dev-a (cpu 1…20) interleaved with another device's. */
function publishSamples(): void {
  for (let i = 1; i <= 20; i++) {
    const time = new Date(Date.UTC(2026, 10, 27, 10, 0, i));
    app.services.events.publish('metricCollected', { deviceId: 'dev-b', sample: toWire(systemRow('dev-b', time, { cpuPercent: 100 + i })) });
    app.services.events.publish('metricCollected', { deviceId: 'dev-a', sample: toWire(systemRow('dev-a', time, { cpuPercent: i })) });
  }
}

const expected = Array.from({ length: 20 }, (_, k) => ({ deviceId: 'dev-a', cpuPercent: k + 1, time: new Date(Date.UTC(2026, 10, 27, 10, 0, k + 1)).toISOString() }));

function wsClient(): WsClient {
  return createWsClient({ url: app.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0, lazy: true });
}

describe('metricCollected(deviceId)', () => {
  test('graphql-ws: exactly that device\'s samples, in order; unsubscribing frees the listener', async () => {
    const client = wsClient();
    const got: Sample[] = [];
    const unsubscribe = client.subscribe<{ metricCollected: Sample }>({ query: METRICS, variables: { id: 'dev-a' } }, {
      next: (v) => void got.push(v.data!.metricCollected),
      error: (e) => { throw e; },
      complete: () => undefined,
    });
    await until(() => target.count('metricCollected') === 1, 'the server-side listener');
    expect(activeSubscriptions().metricCollected).toBe(1);
    publishSamples();
    await until(() => got.length >= 20, '20 samples');
    await new Promise((r) => setTimeout(r, 100)); // nothing more may arrive
    expect(got).toEqual(expected);

    unsubscribe();
    await until(() => target.count('metricCollected') === 0, 'the listener to be removed', 2000);
    expect(activeSubscriptions().metricCollected).toBe(0);
    await client.dispose();
  });

  test('graphql-sse: exactly that device\'s samples, in order; unsubscribing frees the listener', async () => {
    const client = createSseClient({ url: `${app.server.url}/graphql/stream`, headers: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
    const got: Sample[] = [];
    const unsubscribe = client.subscribe<{ metricCollected: Sample }>({ query: METRICS, variables: { id: 'dev-a' } }, {
      next: (v) => void got.push(v.data!.metricCollected),
      error: () => undefined,
      complete: () => undefined,
    });
    await until(() => target.count('metricCollected') === 1, 'the server-side listener');
    publishSamples();
    await until(() => got.length >= 20, '20 samples');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(expected);

    unsubscribe();
    await until(() => target.count('metricCollected') === 0, 'the listener to be removed', 2000);
    expect(activeSubscriptions().metricCollected).toBe(0);
    client.dispose();
  });

  test('a client that disconnects without unsubscribing frees its listeners too', async () => {
    const client = wsClient();
    // Two identical subscriptions share one execution (one listener); a third, different one has its own.
    for (const id of ['dev-a', 'dev-a', 'dev-b']) client.subscribe({ query: METRICS, variables: { id } }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    await until(() => target.count('metricCollected') === 2 && app.server.operations.stats().members === 3, 'three subscriptions on two listeners');
    await client.dispose();
    await until(() => target.count('metricCollected') === 0 && app.server.operations.stats().members === 0, 'all listeners removed', 2000);
  });
});

describe('change subscriptions', () => {
  test('deviceStatusChanged(deviceId) resolves the device; others are filtered out', async () => {
    const client = wsClient();
    const got: unknown[] = [];
    client.subscribe<{ deviceStatusChanged: unknown }>(
      { query: 'subscription { deviceStatusChanged(deviceId: "dev-a") { deviceId previous current reason at device { name status } } }' },
      { next: (v) => void got.push(v.data!.deviceStatusChanged), error: () => undefined, complete: () => undefined },
    );
    await until(() => target.count('deviceStatusChanged') === 1, 'listener');
    app.services.events.publish('deviceStatusChanged', { deviceId: 'dev-x', previous: 'ONLINE', current: 'OFFLINE', reason: 'x', at: '2026-11-27T10:00:00.000Z' });
    app.services.events.publish('deviceStatusChanged', { deviceId: 'dev-a', previous: 'ONLINE', current: 'AUTH_FAILED', reason: 'ssh: authentication failed', at: '2026-11-27T10:00:01.000Z' });
    await until(() => got.length >= 1, 'a status change');
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([{ deviceId: 'dev-a', previous: 'ONLINE', current: 'AUTH_FAILED', reason: 'ssh: authentication failed', at: '2026-11-27T10:00:01.000Z', device: { name: 'alpha', status: 'UNKNOWN' } }]);
    await client.dispose();
  });

  test('containerStateChanged and driveHealthChanged without an id deliver every device', async () => {
    const client = wsClient();
    const containers: { deviceId: string; name: string; state: string }[] = [];
    const drives: { deviceId: string; current: string; device: { name: string } | null }[] = [];
    client.subscribe<{ containerStateChanged: { deviceId: string; name: string; state: string } }>(
      { query: 'subscription { containerStateChanged { deviceId name state } }' },
      { next: (v) => void containers.push(v.data!.containerStateChanged), error: () => undefined, complete: () => undefined },
    );
    client.subscribe<{ driveHealthChanged: { deviceId: string; current: string; device: { name: string } | null } }>(
      { query: 'subscription { driveHealthChanged { deviceId current device { name } } }' },
      { next: (v) => void drives.push(v.data!.driveHealthChanged), error: () => undefined, complete: () => undefined },
    );
    await until(() => target.count('containerStateChanged') === 1 && target.count('driveHealthChanged') === 1, 'listeners');
    const at = '2026-11-27T10:00:00.000Z';
    for (const deviceId of ['dev-a', 'dev-gone']) {
      app.services.events.publish('containerStateChanged', { deviceId, containerId: 'c1', name: 'web', previousState: 'running', state: 'exited', previousHealth: null, health: null, at });
      app.services.events.publish('driveHealthChanged', { deviceId, drive: '/dev/sda', serial: 'S1', previous: 'HEALTHY', current: 'WARNING', at });
    }
    await until(() => containers.length >= 2 && drives.length >= 2, 'both devices\' events');
    expect(containers.map((c) => c.deviceId)).toEqual(['dev-a', 'dev-gone']);
    expect(drives).toEqual([{ deviceId: 'dev-a', current: 'WARNING', device: { name: 'alpha' } }, { deviceId: 'dev-gone', current: 'WARNING', device: null }]);
    await client.dispose();
    await until(() => target.count('containerStateChanged') === 0 && target.count('driveHealthChanged') === 0, 'listeners removed', 2000);
  });
});

describe('set-up order on one socket', () => {
  test('graphql-ws: a query sent after a subscription is answered only once the subscription listens', async () => {
    await app.db.prisma.device.create({ data: { id: 'dev-o', name: 'ordered', hostname: 'o.lan', username: 'm', tags: ['ordered'] } });
    // The first subscription by tags loads the device-tag cache before it listens: a lock on the table holds that load.
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const lock = app.db.prisma.$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe('LOCK TABLE devices IN ACCESS EXCLUSIVE MODE');
        locked();
        await new Promise<void>((r) => (release = r));
      },
      { timeout: 20_000 },
    );
    await isLocked;
    const client = wsClient();
    const got: string[] = [];
    client.subscribe<{ deviceStatusChanged: { deviceId: string } }>(
      { query: 'subscription { deviceStatusChanged(tags: ["ordered"]) { deviceId current } }' },
      { next: (v) => void got.push(v.data!.deviceStatusChanged.deviceId), error: () => undefined, complete: () => undefined },
    );
    // What the dashboard does before it loads a page: a query after its subscriptions, on the same socket.
    let answeredAt = 0;
    const answered = new Promise<void>((resolve, reject) =>
      client.subscribe({ query: '{ __typename }' }, {
        next: () => {
          answeredAt = Date.now();
          app.services.events.publish('deviceStatusChanged', { deviceId: 'dev-o', previous: 'ONLINE', current: 'OFFLINE', reason: null, at: '2026-11-27T10:00:00.000Z' });
        },
        error: reject,
        complete: resolve,
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const releasedAt = Date.now();
    release();
    await lock;
    await answered;
    expect(answeredAt).toBeGreaterThanOrEqual(releasedAt);
    await until(() => got.length === 1, 'the event published once the query was answered');
    expect(got).toEqual(['dev-o']);
    await client.dispose();
    await until(() => target.count('deviceStatusChanged') === 0, 'the listener to be removed', 2000);
  });
});

describe('filters', () => {
  test('tags and status: only matching devices and statuses; a tag added through the API applies at once', async () => {
    const client = wsClient();
    const got: { deviceId: string; current: string }[] = [];
    client.subscribe<{ deviceStatusChanged: { deviceId: string; current: string } }>(
      { query: 'subscription { deviceStatusChanged(tags: ["edge"], deviceIds: ["dev-listed"], status: [OFFLINE]) { deviceId current } }' },
      { next: (v) => void got.push(v.data!.deviceStatusChanged), error: () => undefined, complete: () => undefined },
    );
    await until(() => target.count('deviceStatusChanged') === 1, 'listener');
    const at = '2026-11-27T10:00:00.000Z';
    const change = (deviceId: string, current: string) => app.services.events.publish('deviceStatusChanged', { deviceId, previous: 'ONLINE', current, reason: null, at });
    change('dev-a', 'OFFLINE'); // no tag yet
    change('dev-listed', 'ONLINE'); // listed, wrong status
    change('dev-listed', 'OFFLINE'); // listed
    await until(() => got.length === 1, 'the listed device');
    const tagged = await app.gql<{ updateDevice: { tags: string[] } }>('mutation { updateDevice(id: "dev-a", input: { tags: ["edge"] }) { ... on Device { tags } } }');
    expect(tagged.body.data?.updateDevice.tags).toEqual(['edge']);
    await new Promise((r) => setTimeout(r, 200)); // the cache reloads the device on the deviceChanged event
    change('dev-a', 'OFFLINE');
    change('dev-a', 'DEGRADED');
    await until(() => got.length === 2, 'the newly tagged device');
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([{ deviceId: 'dev-listed', current: 'OFFLINE' }, { deviceId: 'dev-a', current: 'OFFLINE' }]);
    await client.dispose();
  });
});
