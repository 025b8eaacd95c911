/**
 * A poller flush publishes its samples in one tick, and a subscriber of every device gets each
 * as a message of its own. The messages of one tick must reach the kernel in one write per
 * connection, not one per message: with 1,000 such subscribers that was a third of the
 * server's CPU (docs/benchmarks.md, "One write per message"). Counted on the server's accepted
 * sockets, where a stream hands its bytes to libuv (`_write` / `_writev`), for graphql-ws and
 * graphql-sse, with real clients that must still receive every message in order. graphql-ws
 * wrote 50 times for 50 events before ws.ts corked its sockets; SSE has been one write all
 * along (Node's http response corks its socket for the tick at a first write), and is kept
 * here so that it stays so.
 */
import net from 'node:net';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toWire } from '../../src/events/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { systemRow } from '../helpers/rows.ts';
import { until } from '../helpers/until.ts';

const QUERY = 'subscription { metricCollected { deviceId cpuPercent } }';
const BURST = 50;

let app: TestApp;
/** Writes handed to libuv per accepted socket (sockets a server accepted have `server` set). */
const writes = new Map<net.Socket, number>();
const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (this: net.Socket, ...args: unknown[]) => void>;
const original = { _write: proto._write, _writev: proto._writev };

beforeAll(async () => {
  app = await startTestApp();
  for (const name of ['_write', '_writev'] as const) {
    proto[name] = function (this: net.Socket, ...args: unknown[]) {
      if ((this as net.Socket & { server?: unknown }).server) writes.set(this, (writes.get(this) ?? 0) + 1);
      return original[name].apply(this, args);
    };
  }
});
afterAll(async () => {
  Object.assign(proto, original);
  await app?.close();
});

type Got = { metricCollected: { deviceId: string; cpuPercent: number } };

/** Subscribes through `subscribe`, publishes BURST samples in one tick, and returns the server's writes for it. */
async function burst(subscribe: (next: (v: Got) => void) => () => void): Promise<{ writes: number; received: number[] }> {
  const received: number[] = [];
  const stop = subscribe((v) => void received.push(v.metricCollected.cpuPercent));
  try {
    await until(() => app.server.operations.stats().members === 1, 'the subscription');
    // Whatever the handshake wrote has gone out by now.
    await new Promise((r) => setTimeout(r, 50));
    writes.clear();
    const time = new Date();
    for (let i = 0; i < BURST; i++) app.services.events.publish('metricCollected', { deviceId: 'dev-a', sample: toWire(systemRow('dev-a', time, { cpuPercent: i })) });
    await until(() => received.length === BURST, `${BURST} messages`);
    return { writes: [...writes.values()].reduce((a, b) => a + b, 0), received };
  } finally {
    stop();
    await until(() => app.server.operations.stats().members === 0, 'the unsubscribe');
  }
}

const inOrder = Array.from({ length: BURST }, (_, i) => i);

test(`graphql-ws: ${BURST} events published in one tick leave in one write`, async () => {
  const client = createWsClient({ url: app.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
  try {
    const r = await burst((next) => client.subscribe<Got>({ query: QUERY }, { next: (v) => next(v.data!), error: (e) => { throw e; }, complete: () => undefined }));
    expect(r.received).toEqual(inOrder);
    expect(r.writes).toBe(1);
  } finally {
    await client.dispose();
  }
});

test(`graphql-sse: ${BURST} events published in one tick leave in one write`, async () => {
  const client = createSseClient({ url: `${app.server.url}/graphql/stream`, headers: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
  try {
    const r = await burst((next) => client.subscribe<Got>({ query: QUERY }, { next: (v) => next(v.data!), error: (e) => { throw e; }, complete: () => undefined }));
    expect(r.received).toEqual(inOrder);
    expect(r.writes).toBe(1);
  } finally {
    client.dispose();
  }
});
