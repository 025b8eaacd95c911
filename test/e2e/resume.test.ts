/**
 * Resumable streams: a subscriber that loses its socket mid-stream and comes back with the
 * last `cursor` it received gets every row stored meanwhile, then the live ones, with no gap
 * and no duplicate, compared with the rows in SQL. Rows are written the way the poller writes
 * them (storage's writeBatch, then the after-commit publisher) while the client is away and
 * while it resumes, with sample times deliberately out of order across devices.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { publishCommitted } from '../../src/poller/publish.ts';
import { writeBatch } from '../../src/storage/index.ts';
import { emptyBatch } from '../../src/storage/types.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { filesystemRow, systemRow } from '../helpers/rows.ts';
import { until as waitUntil } from '../helpers/until.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
  for (const id of ['dev-a', 'dev-b', 'dev-c']) await app.db.prisma.device.create({ data: { id, name: id, hostname: `${id}.lan`, username: 'm', tags: id === 'dev-c' ? ['lab'] : ['prod'] } });
});
afterAll(async () => app?.close());

const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
let round = 0;

/** One coalesced write as the poller makes it: three devices, dev-c's sample older than the others' (a slow host). */
async function writeRound(): Promise<void> {
  round++;
  const batch = emptyBatch();
  batch.system = [systemRow('dev-a', new Date(T0 + round * 1000), { cpuPercent: round }), systemRow('dev-c', new Date(T0 + round * 1000 - 60_000), { cpuPercent: round }), systemRow('dev-b', new Date(T0 + round * 1000), { cpuPercent: round })];
  batch.filesystems = ['dev-a', 'dev-b'].flatMap((d) => ['/', '/data'].map((m) => filesystemRow(d, new Date(T0 + round * 1000), m, { usedPercent: round })));
  await writeBatch(app.db.prisma, batch);
  publishCommitted(app.services.events, batch);
}

/** Replays take longer than the helper's default wait. */
const until = (check: () => boolean, what: string, ms = 10_000): Promise<void> => waitUntil(check, what, ms);

const wsClient = (): Client =>
  createWsClient({ url: app.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0, lazy: true });

type Sample = { deviceId: string; time: string; cursor: string };
const METRICS = 'subscription ($after: String, $tags: [String!]) { metricCollected(after: $after, tags: $tags) { deviceId time cursor } }';

async function storedSystem(afterCursorOf: Sample, tags: string[] | null): Promise<{ deviceId: string; time: string }[]> {
  const { rows } = await app.db.pool.query<{ device_id: string; time: Date }>(
    `SELECT m.device_id, m.time FROM system_metrics m JOIN devices d ON d.id = m.device_id
     WHERE m.seq >= (SELECT seq FROM system_metrics WHERE device_id = $1 AND time = $2) AND ($3::text[] IS NULL OR d.tags && $3) ORDER BY m.seq`,
    [afterCursorOf.deviceId, afterCursorOf.time, tags],
  );
  return rows.map((r) => ({ deviceId: r.device_id, time: r.time.toISOString() }));
}

describe('metricCollected(after:) over graphql-ws', () => {
  test('drop the socket mid-stream, write while away, resume while writing: exactly the stored rows, in ingest order', { timeout: 60_000 }, async () => {
    const got: Sample[] = [];
    const first = wsClient();
    first.subscribe<{ metricCollected: Sample }>({ query: METRICS, variables: {} }, { next: (v) => void got.push(v.data!.metricCollected), error: () => undefined, complete: () => undefined });
    await until(() => app.server.operations.stats().members === 1, 'the subscription');
    for (let i = 0; i < 10; i++) await writeRound();
    await until(() => got.length === 30, '30 live samples');
    // The socket goes away without a goodbye; rows keep being written meanwhile.
    first.terminate();
    await until(() => app.server.operations.stats().members === 0, 'the server to notice');
    for (let i = 0; i < 20; i++) await writeRound();

    // The seam, made certain: each time the replay has read its rows, another write commits
    // before the replay is done (so only the live stream can bring it).
    const { db } = app.services;
    let raced = 0;
    const racing = new Proxy(db.prisma, {
      get: (target, prop) =>
        prop === '$queryRawUnsafe'
          ? async (sql: string, ...values: unknown[]) => {
              const rows: unknown = await target.$queryRawUnsafe(sql, ...values);
              if (sql.includes('ORDER BY seq LIMIT')) {
                raced++;
                await writeRound();
              }
              return rows;
            }
          : Reflect.get(target, prop),
    });
    app.services.db = { ...db, prisma: racing };
    const resumed = wsClient();
    const last = got.at(-1)!;
    resumed.subscribe<{ metricCollected: Sample }>({ query: METRICS, variables: { after: last.cursor } }, { next: (v) => void got.push(v.data!.metricCollected), error: (e) => { throw e; }, complete: () => undefined });
    await until(() => raced > 0, 'the replay');
    app.services.db = db;
    // And writing goes on once it is live.
    for (let i = 0; i < 20; i++) {
      await writeRound();
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => got.length === 30 + (40 + raced) * 3, 'every sample', 20_000);
    await new Promise((r) => setTimeout(r, 200));
    const stored = await storedSystem(got[0]!, null);
    expect(got.map(({ deviceId, time }) => ({ deviceId, time }))).toEqual(stored);
    expect(new Set(got.map((s) => s.cursor)).size).toBe(got.length);
    await resumed.dispose();
  });

  test('filters apply to the replay too (tags), and a bad cursor is a clear error', async () => {
    await writeRound();
    const got: Sample[] = [];
    const client = wsClient();
    client.subscribe<{ metricCollected: Sample }>({ query: METRICS, variables: { tags: ['prod'] } }, { next: (v) => void got.push(v.data!.metricCollected), error: () => undefined, complete: () => undefined });
    await until(() => app.server.operations.stats().members === 1, 'the subscription');
    await writeRound();
    await until(() => got.length === 2, 'one round of prod samples');
    await client.dispose();
    for (let i = 0; i < 5; i++) await writeRound();
    const resumed = wsClient();
    resumed.subscribe<{ metricCollected: Sample }>({ query: METRICS, variables: { tags: ['prod'], after: got.at(-1)!.cursor } }, { next: (v) => void got.push(v.data!.metricCollected), error: () => undefined, complete: () => undefined });
    await until(() => got.length === 12, 'the replayed prod samples');
    expect(got.every((s) => s.deviceId !== 'dev-c')).toBe(true);
    expect(got.map(({ deviceId, time }) => ({ deviceId, time }))).toEqual(await storedSystem(got[0]!, ['prod']));
    await resumed.dispose();

    const bad = wsClient();
    const error = await new Promise<unknown>((resolve) => {
      bad.subscribe({ query: METRICS, variables: { after: 'not-a-cursor' } }, { next: (v) => resolve(v), error: resolve, complete: () => undefined });
    });
    expect(JSON.stringify(error)).toMatch(/not a cursor this server handed out/);
    const inFragment = await new Promise<unknown>((resolve) => {
      bad.subscribe({ query: `subscription { ...F } fragment F on Subscription { metricCollected(after: "${got[0]!.cursor}") { deviceId } }` }, { next: (v) => resolve(v), error: resolve, complete: () => undefined });
    });
    expect(JSON.stringify(inFragment)).toMatch(/only on the subscription field itself/);
    await bad.dispose();
  });
});

describe('filesystemsCollected(after:) over graphql-sse', () => {
  test('one event per device and poll; resumed after a dropped stream with every poll in between', { timeout: 60_000 }, async () => {
    type Polls = { deviceId: string; time: string; cursor: string; filesystems: { mount: string; usedPercent: number }[] };
    const query = 'subscription ($after: String) { filesystemsCollected(after: $after) { deviceId time cursor filesystems { mount usedPercent } } }';
    const got: Polls[] = [];
    const first = createSseClient({ url: `${app.server.url}/graphql/stream`, headers: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
    const stop = first.subscribe<{ filesystemsCollected: Polls }>({ query, variables: {} }, { next: (v) => void got.push(v.data!.filesystemsCollected), error: () => undefined, complete: () => undefined });
    await until(() => app.server.operations.stats().members === 1, 'the subscription');
    for (let i = 0; i < 3; i++) await writeRound();
    await until(() => got.length === 6, 'three polls of two devices');
    expect(got[0]!.filesystems.map((f) => f.mount)).toEqual(['/', '/data']);
    stop();
    first.dispose();
    for (let i = 0; i < 4; i++) await writeRound();
    const resumed = createSseClient({ url: `${app.server.url}/graphql/stream`, headers: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
    resumed.subscribe<{ filesystemsCollected: Polls }>({ query, variables: { after: got.at(-1)!.cursor } }, { next: (v) => void got.push(v.data!.filesystemsCollected), error: () => undefined, complete: () => undefined });
    for (let i = 0; i < 2; i++) await writeRound();
    await until(() => got.length === 18, 'nine polls of two devices');
    const { rows } = await app.db.pool.query<{ device_id: string; time: Date }>(
      'SELECT device_id, time FROM filesystem_metrics WHERE seq >= (SELECT min(seq) FROM filesystem_metrics WHERE device_id = $1 AND time = $2) GROUP BY device_id, time ORDER BY max(seq)',
      [got[0]!.deviceId, got[0]!.time],
    );
    expect(got.map((p) => ({ deviceId: p.deviceId, time: p.time }))).toEqual(rows.map((r) => ({ deviceId: r.device_id, time: r.time.toISOString() })));
    expect(got.every((p) => p.filesystems.length === 2)).toBe(true);
    resumed.dispose();
  });
});
