/**
 * The real-time transports against the clients people use, and the graphql-transport-ws
 * protocol details the reference implementation has (our server implements the protocol
 * itself): Apollo Client's GraphQLWsLink, urql's subscriptionExchange over graphql-ws,
 * graphql-sse in both modes, curl on Yoga-style SSE; pings both ways, close codes, and the
 * keep-alive heartbeat that drops a dead peer.
 */
import { spawn } from 'node:child_process';
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { Client as UrqlClient, subscriptionExchange } from '@urql/core';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toWire } from '../../src/events/index.ts';
import { attachMetrics } from '../../src/metrics.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { stalledEventStream, stalledWebSocket } from '../helpers/stalled.ts';
import { sample, rawPeer } from './security/support.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ SUBSCRIPTION_HEARTBEAT_SECONDS: '1' });
  // main.ts attaches the connection counts to /metrics; the test app does it here.
  detach = attachMetrics({ subscribers: app.services.subscribers });
});
let detach: () => void;
afterAll(() => detach?.());
afterAll(async () => app?.close());

const QUERY = 'subscription ($id: ID) { metricCollected(deviceId: $id) { deviceId cpuPercent } }';
const wsUrl = () => app.server.url.replace('http', 'ws') + '/graphql';

/** Publishes samples for dev-a until `received()` (subscriptions start asynchronously). */
async function publishUntil(received: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !received(); i++) {
    app.services.events.publish('metricCollected', { deviceId: 'other', sample: toWire(sample('other', 1)) });
    app.services.events.publish('metricCollected', { deviceId: 'dev-a', sample: toWire(sample('dev-a', 42.5)) });
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(received()).toBe(true);
}

async function scrape(name: string): Promise<number> {
  const text = await (await fetch(`${app.server.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

describe('real clients', () => {
  test("Apollo Client's GraphQLWsLink", async () => {
    const wsClient = createWsClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
    const apollo = new ApolloClient({ link: new GraphQLWsLink(wsClient), cache: new InMemoryCache() });
    const got: { deviceId: string; cpuPercent: number }[] = [];
    const sub = apollo.subscribe<{ metricCollected: { deviceId: string; cpuPercent: number } }>({ query: gql(QUERY), variables: { id: 'dev-a' } }).subscribe({ next: (r) => void got.push(r.data!.metricCollected) });
    await publishUntil(() => got.length > 0);
    expect(got[0]).toMatchObject({ deviceId: 'dev-a', cpuPercent: 42.5 });
    sub.unsubscribe();
    await wsClient.dispose();
  });

  test("urql's subscriptionExchange over graphql-ws", async () => {
    const wsClient = createWsClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
    const urql = new UrqlClient({
      url: `${app.server.url}/graphql`,
      exchanges: [
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: wsClient.subscribe({ ...request, query: request.query ?? '' }, sink) }),
          }),
        }),
      ],
    });
    const got: number[] = [];
    const sub = urql.subscription<{ metricCollected: { cpuPercent: number } }>(QUERY, { id: 'dev-a' }).subscribe((r) => {
      if (r.data) got.push(r.data.metricCollected.cpuPercent);
    });
    await publishUntil(() => got.length > 0);
    expect(got[0]).toBe(42.5);
    sub.unsubscribe();
    await wsClient.dispose();
  });

  test('graphql-sse in single-connection mode (reserved stream, operations by id)', async () => {
    const client = createSseClient({ url: `${app.server.url}/graphql/stream`, headers: { authorization: `Bearer ${app.adminToken}` }, singleConnection: true, retryAttempts: 0 });
    const got: number[] = [];
    const other: string[] = [];
    const stop = client.subscribe<{ metricCollected: { cpuPercent: number } }>({ query: QUERY, variables: { id: 'dev-a' } }, { next: (v) => void got.push(v.data!.metricCollected.cpuPercent), error: () => undefined, complete: () => undefined });
    // A second operation on the same stream, and a query (one result, then complete).
    client.subscribe<{ metricCollected: { deviceId: string } }>({ query: 'subscription { metricCollected(deviceId: "other") { deviceId } }' }, { next: (v) => void other.push(v.data!.metricCollected.deviceId), error: () => undefined, complete: () => undefined });
    const health = await new Promise<unknown>((resolve, reject) => {
      client.subscribe({ query: '{ health { status } }' }, { next: resolve, error: reject, complete: () => undefined });
    });
    expect(health).toEqual({ data: { health: { status: 'OK' } } });
    await publishUntil(() => got.length > 0 && other.length > 0);
    expect(got[0]).toBe(42.5);
    expect(other[0]).toBe('other');
    stop();
    client.dispose();
  });

  test('a reserved single-connection stream belongs to the API token that reserved it', async () => {
    const put = await fetch(`${app.server.url}/graphql/stream`, { method: 'PUT', headers: { authorization: `Bearer ${app.adminToken}` } });
    expect(put.status).toBe(201);
    const token = await put.text();
    const created = await app.gql<{ createApiToken: { token: string } }>('mutation { createApiToken(input: { name: "intruder", role: VIEWER }) { ... on CreatedApiToken { token } } }');
    const intruder = created.body.data!.createApiToken.token;
    const op = await fetch(`${app.server.url}/graphql/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${intruder}`, 'content-type': 'application/json', 'x-graphql-event-stream-token': token },
      body: JSON.stringify({ query: '{ health { status } }', extensions: { operationId: '1' } }),
    });
    expect(op.status).toBe(404);
  });

  test('curl on Yoga-style SSE (/graphql, Accept: text/event-stream)', async () => {
    const curl = spawn('curl', ['-N', '-s', '-H', `authorization: Bearer ${app.adminToken}`, '-H', 'accept: text/event-stream', '-H', 'content-type: application/json', '-d', JSON.stringify({ query: QUERY, variables: { id: 'dev-a' } }), `${app.server.url}/graphql`]);
    let out = '';
    curl.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    try {
      await publishUntil(() => out.includes('42.5'));
      expect(out).toMatch(/^:\n\n/);
      expect(out).toContain('event: next\ndata: {"data":{"metricCollected":{"deviceId":"dev-a","cpuPercent":42.5}}}\n\n');
    } finally {
      curl.kill();
    }
  });
});

describe('graphql-transport-ws details', () => {
  const authed = () => ({ type: 'connection_init', payload: { authorization: `Bearer ${app.adminToken}` } });

  test('ping gets pong (with its payload), pong is ignored, a client-sent next is refused (4500), another subprotocol is not accepted', async () => {
    const peer = rawPeer(app);
    await peer.opened;
    peer.send(authed());
    await peer.next('connection_ack');
    peer.send({ type: 'ping', payload: { t: 1 } });
    expect(await peer.next('pong')).toEqual({ type: 'pong', payload: { t: 1 } });
    peer.send({ type: 'ping' });
    expect(await peer.next('pong')).toEqual({ type: 'pong' });
    peer.send({ type: 'pong' });
    peer.send({ id: 'q', type: 'subscribe', payload: { query: '{ health { status } }' } });
    expect(await peer.next('next')).toEqual({ id: 'q', type: 'next', payload: { data: { health: { status: 'OK' } } } });
    expect(await peer.next('complete')).toEqual({ id: 'q', type: 'complete' });
    peer.send({ id: 'x', type: 'next', payload: {} });
    expect((await peer.closed).code).toBe(4500);

    // The legacy subscriptions-transport-ws protocol: no subprotocol is agreed, so the handshake fails.
    const legacy = new WebSocket(wsUrl(), 'graphql-ws');
    let opened = false;
    legacy.on('open', () => void (opened = true));
    legacy.on('error', () => undefined);
    await new Promise((resolve) => legacy.on('close', resolve));
    expect(opened).toBe(false);
  });

  test('complete both ways, a validation error as an error message, and the subscriber gauges', async () => {
    const peer = rawPeer(app);
    await peer.opened;
    peer.send(authed());
    await peer.next('connection_ack');
    expect(await scrape('infrapulse_subscribers{transport="ws"}')).toBeGreaterThanOrEqual(1);
    peer.send({ id: 'bad', type: 'subscribe', payload: { query: 'subscription { metricCollected { noSuchField } }' } });
    const error = await peer.next('error');
    expect(error.id).toBe('bad');
    expect(JSON.stringify(error.payload)).toMatch(/noSuchField/);
    peer.send({ id: 's', type: 'subscribe', payload: { query: QUERY, variables: { id: 'dev-a' } } });
    await publishUntil(() => peer.messages.some((m) => m.type === 'next' && m.id === 's'));
    expect(await scrape('infrapulse_subscriptions ')).toBeGreaterThanOrEqual(1);
    peer.send({ id: 's', type: 'complete' });
    await new Promise((r) => setTimeout(r, 100));
    peer.messages.length = 0;
    app.services.events.publish('metricCollected', { deviceId: 'dev-a', sample: toWire(sample('dev-a', 1)) });
    await new Promise((r) => setTimeout(r, 100));
    expect(peer.messages.filter((m) => m.type === 'next')).toEqual([]);
    peer.ws.close();
  });
});

describe('heartbeats (SUBSCRIPTION_HEARTBEAT_SECONDS=1 here)', () => {
  test('graphql-ws: a WebSocket ping every interval; a live client stays, a peer that never answers is dropped', async () => {
    const peer = rawPeer(app);
    await peer.opened;
    let pings = 0;
    peer.ws.on('ping', () => void pings++);
    peer.send({ type: 'connection_init', payload: { authorization: `Bearer ${app.adminToken}` } });
    await peer.next('connection_ack');
    const deadBefore = await scrape('infrapulse_subscribers_dead_total{transport="ws"}');
    const dead = await stalledWebSocket(wsUrl(), app.adminToken, QUERY);
    dead.pause();
    await new Promise((r) => setTimeout(r, 3500));
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(peer.ws.readyState).toBe(WebSocket.OPEN);
    expect(await scrape('infrapulse_subscribers_dead_total{transport="ws"}')).toBe(deadBefore + 1);
    expect(await dead.resumeUntilClosed(2000)).not.toBeNull();
    peer.ws.close();
  });

  test('SSE (both protocols): a comment line every interval', async () => {
    for (const path of ['/graphql/stream', '/graphql']) {
      const controller = new AbortController();
      const res = await fetch(`${app.server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${app.adminToken}` },
        body: JSON.stringify({ query: QUERY, variables: { id: 'nobody' } }),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      let text = '';
      const started = Date.now();
      while (Date.now() - started < 2600) {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
      }
      controller.abort();
      // The opening comment, then one per second.
      expect(text.split(':\n\n').length - 1, path).toBeGreaterThanOrEqual(3);
    }
  });

  test('SSE: a peer that stops reading while data waits is dropped after two heartbeats without progress', { timeout: 60_000 }, async () => {
    // A buffer bound far above what flows here, so only the heartbeat can drop it.
    const big = await startTestApp({ SUBSCRIPTION_HEARTBEAT_SECONDS: '1', SUBSCRIBER_MAX_BUFFER_BYTES: String(256 * 2 ** 20) });
    try {
      const dead = () => scrape('infrapulse_subscribers_dead_total{transport="graphql-sse"}');
      const before = await dead();
      const stalled = await stalledEventStream(`${big.server.url}/graphql/stream`, big.adminToken, 'subscription { metricCollected { corePercents } }');
      stalled.pause();
      // About 300 KB per event: the kernel's buffers fill within seconds, then bytes wait here.
      const event = toWire({ ...sample('dev-z', 1), corePercents: Array.from({ length: 40_000 }, (_, i) => i + 0.5) });
      const until = Date.now() + 30_000;
      while ((await dead()) === before && Date.now() < until) {
        big.services.events.publish('metricCollected', { deviceId: 'dev-z', sample: event });
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await dead()).toBe(before + 1);
      expect(await stalled.resumeUntilClosed(5000)).not.toBeNull();
    } finally {
      await big.close();
    }
  });
});
