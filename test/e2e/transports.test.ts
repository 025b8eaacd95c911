/**
 * Each transport delivers a published event to a real client: graphql-ws over WebSocket,
 * graphql-sse on /graphql/stream, and Yoga's own SSE on /graphql. Auth is enforced on each.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toWire } from '../../src/events/index.ts';
import type { SystemMetricsRow } from '../../src/storage/types.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => app?.close());

const SUBSCRIPTION = 'subscription ($id: ID) { metricCollected(deviceId: $id) { deviceId time cpuPercent memTotalBytes } }';

function sample(deviceId: string, cpuPercent: number): SystemMetricsRow {
  return {
    time: new Date('2026-11-27T10:00:00Z'), deviceId, cpuCount: 2, cpuPercent, cpuUserPercent: 1, cpuSystemPercent: 1,
    cpuIowaitPercent: 0, cpuStealPercent: 0, corePercents: [1, 2], memTotalBytes: 2 ** 34, memAvailableBytes: 2 ** 33,
    memUsedPercent: 50, swapTotalBytes: 0, swapFreeBytes: 0, load1: 0.5, load5: 0.4, load15: 0.3, uptimeSeconds: 100,
    processCount: 80, netRxBytesPerSec: 1, netTxBytesPerSec: 2, diskReadBytesPerSec: 3, diskWriteBytesPerSec: 4,
  };
}

/** Publishes until the subscriber has seen one event (subscription set-up is asynchronous). */
async function publishUntil(received: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !received(); i++) {
    app.services.events.publish('metricCollected', { deviceId: 'other', sample: toWire(sample('other', 1)) });
    app.services.events.publish('metricCollected', { deviceId: 'dev-a', sample: toWire(sample('dev-a', 42.5)) });
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Payload = { data?: { metricCollected: { deviceId: string; cpuPercent: number; memTotalBytes: number; time: string } } };

describe('graphql-ws', () => {
  test('delivers only the subscribed device\'s samples', async () => {
    const client = createWsClient({ url: app.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
    const got: Payload[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<Payload['data']>({ query: SUBSCRIPTION, variables: { id: 'dev-a' } }, { next: (v) => void got.push(v as Payload), error: reject, complete: resolve });
    });
    await publishUntil(() => got.length > 0);
    expect(got[0]?.data?.metricCollected).toEqual({ deviceId: 'dev-a', time: '2026-11-27T10:00:00.000Z', cpuPercent: 42.5, memTotalBytes: 2 ** 34 });
    expect(got.every((g) => g.data?.metricCollected.deviceId === 'dev-a')).toBe(true);
    await client.dispose();
    await done.catch(() => undefined);
  });

  test('refuses a connection without a valid token with 4403', async () => {
    const ws = new WebSocket(app.server.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer nope' } })));
      ws.on('close', (c) => resolve(c));
    });
    expect(code).toBe(4403);
  });
});

describe('graphql-sse', () => {
  test('delivers a published event on /graphql/stream', async () => {
    const client = createSseClient({ url: `${app.server.url}/graphql/stream`, headers: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
    const got: Payload[] = [];
    const unsubscribe = client.subscribe({ query: SUBSCRIPTION, variables: { id: 'dev-a' } }, { next: (v) => void got.push(v as Payload), error: () => undefined, complete: () => undefined });
    await publishUntil(() => got.length > 0);
    expect(got[0]?.data?.metricCollected.cpuPercent).toBe(42.5);
    unsubscribe();
    client.dispose();
  });

  test('answers 401 without a token', async () => {
    const res = await fetch(`${app.server.url}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: SUBSCRIPTION }),
    });
    expect(res.status).toBe(401);
  });
});

describe("Yoga's SSE on /graphql", () => {
  test('streams events to an Accept: text/event-stream request', async () => {
    const controller = new AbortController();
    const res = await fetch(`${app.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${app.adminToken}` },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { id: 'dev-a' } }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
        if (text.includes('42.5')) return;
      }
    })();
    await publishUntil(() => text.includes('42.5'));
    await reading;
    controller.abort();
    expect(text).toContain('"deviceId":"dev-a"');
  });
});

describe('HTTP', () => {
  test('health answers OK with a token and 401 without', async () => {
    const ok = await app.gql<{ health: { status: string; database: { ok: boolean } } }>('{ health { status database { ok } } }');
    expect(ok.body.data?.health).toEqual({ status: 'OK', database: { ok: true } });
    const denied = await app.gql('{ health { status } }', undefined, null);
    expect(denied.status).toBe(401);
  });

  test('a VIEWER may not create tokens', async () => {
    const created = await app.gql<{ createApiToken: { token: string } }>('mutation { createApiToken(input: { name: "v", role: VIEWER }) { ... on CreatedApiToken { token } } }');
    const viewer = created.body.data!.createApiToken.token;
    expect(viewer).toMatch(/^ipt_/);
    const denied = await app.gql('mutation { createApiToken(input: { name: "x", role: ADMIN }) { ... on CreatedApiToken { token } } }', undefined, viewer);
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('/healthz and /readyz are open', async () => {
    expect((await fetch(`${app.server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${app.server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { status: string }).status).toBe('ready');
  });
});
