/**
 * The API while its PostgreSQL is down (issue #13, item 7), with a real database stopped and
 * started again: tokens verified before the outage keep working for TOKEN_OUTAGE_GRACE_SECONDS,
 * `health` answers DOWN with the reason, what needs the database gets a typed
 * DATABASE_UNAVAILABLE error (HTTP 503), subscriptions stay open (an event whose selection reads
 * the database carries the same typed error), and once the database is back
 * a revocation made meanwhile applies at once.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toWire } from '../../../src/events/index.ts';
import { createPool } from '../../../src/db/adapter.ts';
import { createPrismaClient, type Database } from '../../../src/db/index.ts';
import { createApiToken } from '../../../src/tokens.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { ownPostgres, type OwnPostgres } from '../../helpers/own-postgres.ts';
import { systemRow } from '../../helpers/rows.ts';
import { sleep, until } from './support.ts';

const GRACE_S = 5;
let pg: OwnPostgres;
let db: Database;
let app: TestApp;
let ws: Client | undefined;

beforeAll(async () => {
  pg = await ownPostgres('infrapulse-api-outage-', { migrate: true });
  const pool = createPool(pg.url, { max: 5, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {
    // Idle connections die when the server stops: that is the outage under test.
  });
  const prisma = createPrismaClient(pool);
  db = { prisma, pool, url: pg.url, timescale: null, embedded: false, close: async () => {
    await prisma.$disconnect();
    await pool.end();
  } };
  app = await startTestApp({ TOKEN_OUTAGE_GRACE_SECONDS: String(GRACE_S), RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '2' }, { db });
}, 120_000);

afterAll(async () => {
  await ws?.dispose();
  await app?.close();
  await db?.close();
  await pg?.close();
});

type Errors = { message: string; extensions?: { code?: string } }[];

async function post(query: string, token: string): Promise<{ status: number; retryAfter: string | null; body: { data?: Record<string, unknown>; errors?: Errors } }> {
  const res = await fetch(`${app.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as never };
}

describe('the API during a database outage', () => {
  test('stays up: health DOWN with a reason, typed 503s, open subscriptions, bounded token grace, revocations at once afterwards', { timeout: 120_000 }, async () => {
    const viewer = (await createApiToken(db.prisma, { name: 'viewer', role: 'VIEWER' })).token;
    const unused = (await createApiToken(db.prisma, { name: 'never used before the outage', role: 'VIEWER' })).token;
    expect((await post('{ health { status } }', viewer)).body.data).toEqual({ health: { status: 'OK' } });
    expect((await post('{ devices { totalCount } }', app.adminToken)).status).toBe(200);

    const received: unknown[] = [];
    let closed: { code: number; reason: string } | undefined;
    ws = createClient({
      url: `${app.server.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${viewer}` },
      retryAttempts: 0,
      on: { closed: (e) => void (closed = { code: (e as { code: number }).code, reason: (e as { reason: string }).reason }) },
    });
    ws.subscribe({ query: 'subscription { metricCollected { deviceId cpuPercent } }' }, { next: (v) => void received.push(v.data), error: () => undefined, complete: () => undefined });
    // A selection that reads the database for each event (the device's name).
    const changes: { data?: unknown; errors?: readonly { message: string; extensions?: { code?: string } }[] }[] = [];
    ws.subscribe({ query: 'subscription { deviceStatusChanged { deviceId device { name } } }' }, { next: (v) => void changes.push(v as never), error: () => undefined, complete: () => undefined });
    const watched = await db.prisma.device.create({ data: { name: 'watched', hostname: 'watched.example', username: 'x' } });
    const statusChange = () => app.services.events.publish('deviceStatusChanged', { deviceId: watched.id, previous: 'ONLINE', current: 'OFFLINE', reason: 'test', at: new Date().toISOString() });
    const publish = (deviceId: string) => app.services.events.publish('metricCollected', { deviceId, sample: toWire(systemRow(deviceId, new Date())) });
    await until(async () => {
      await publish('before');
      await statusChange();
      return received.length > 0 && changes.length > 0;
    }, 'the subscriptions to be live');
    expect(changes[0]).toEqual({ data: { deviceStatusChanged: { deviceId: watched.id, device: { name: 'watched' } } } });

    const outageAt = Date.now();
    await pg.stop();

    const health = await post('{ health { status reason database { ok error } } }', app.adminToken);
    expect(health.status).toBe(200);
    expect(health.body.data!.health).toMatchObject({ status: 'DOWN', database: { ok: false } });
    expect((health.body.data!.health as { reason: string }).reason).toMatch(/^database unreachable: /);
    expect((await post('{ health { status } }', viewer)).body.data).toEqual({ health: { status: 'DOWN' } });

    const devices = await post('{ devices { totalCount } }', app.adminToken);
    expect(devices.status).toBe(503);
    expect(devices.retryAfter).toMatch(/^\d+$/);
    expect(devices.body.errors![0]).toMatchObject({ message: 'database unavailable: try again shortly', extensions: { code: 'DATABASE_UNAVAILABLE' } });
    const mutation = await post('mutation { createApiToken(input: { name: "during", role: VIEWER }) { __typename } }', app.adminToken);
    expect(mutation.status).toBe(503);
    expect(mutation.body.errors![0]!.extensions!.code).toBe('DATABASE_UNAVAILABLE');

    // A token that cannot be checked is neither accepted nor counted as a failed login.
    for (const token of [unused, 'ipt_made_up_0', 'ipt_made_up_1', 'ipt_made_up_2']) {
      const r = await post('{ health { status } }', token);
      expect(r.status, token).toBe(503);
      expect(r.body.errors![0]!.extensions!.code).toBe('DATABASE_UNAVAILABLE');
    }

    // The streaming transports say so too: graphql-sse with 503, graphql-ws with close 1013 "Try Again Later".
    const sse = await fetch(`${app.server.url}/graphql/stream`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${unused}` }, body: '{"query":"subscription { metricCollected { cpuPercent } }"}' });
    expect(sse.status).toBe(503);
    expect(((await sse.json()) as { errors: Errors }).errors[0]!.extensions!.code).toBe('DATABASE_UNAVAILABLE');
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${app.server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${unused}` } })));
      socket.on('close', (code) => resolve(code));
    });
    expect(refused).toBe(1013);

    // The subscription stays open across token sweeps and still delivers.
    await sleep(2500);
    const before = received.length;
    await publish('during');
    await until(() => received.length > before, 'an event during the outage');
    expect(closed).toBeUndefined();
    // An event whose selection needs the database says why it has no data, as a query would.
    const changesBefore = changes.length;
    await statusChange();
    await until(() => changes.length > changesBefore, 'a status change during the outage');
    expect(changes.at(-1)!.errors?.[0]).toMatchObject({ message: 'database unavailable: try again shortly', extensions: { code: 'DATABASE_UNAVAILABLE' } });

    // The grace is bounded: GRACE_S after the last check against the database, even verified tokens wait for it.
    await sleep(Math.max(0, outageAt + GRACE_S * 1000 + 500 - Date.now()));
    const late = await post('{ health { status } }', app.adminToken);
    expect(late.status).toBe(503);
    expect(late.body.errors![0]!.extensions!.code).toBe('DATABASE_UNAVAILABLE');

    // Back: a revocation made meanwhile (here straight in SQL) applies to the very next request and closes the socket.
    await pg.start();
    await db.pool.query('UPDATE api_tokens SET revoked_at = now() WHERE token_hash = encode(sha256($1::bytea), $2)', [viewer, 'hex']);
    await until(async () => (await post('{ health { status } }', app.adminToken)).status === 200, 'the database to answer again');
    expect((await post('{ health { status } }', viewer)).status).toBe(401);
    await until(() => closed !== undefined, 'the revoked token\'s socket to close', 10_000);
    expect(closed!.code).toBe(4401);
  });
});
