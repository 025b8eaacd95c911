/**
 * A subscriber that stops reading must cost the server a bounded amount of memory and
 * nobody else anything: on each transport (graphql-ws, graphql-sse, Yoga's SSE) a real
 * socket is paused mid-stream while about 120 MB of events go out to the same topic. The
 * server (its own process) stays up, its RSS stays bounded, the stalled connection is cut
 * off and counted in /metrics, and a healthy client on the same topic receives every event
 * in order.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { createTestDatabase } from '../helpers/db.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { stalledEventStream, stalledWebSocket, type Stalled } from '../helpers/stalled.ts';
import { until } from '../helpers/until.ts';

const QUERY = 'subscription { metricCollected { cpuCount corePercents } }';
const EVENTS = 3000;
const BATCH = 50;
/** Each event is about 40 KB of JSON: 3,000 of them are 120 MB. */
const CORES = 8000;

let databaseUrl: string;
let server: ServerProcess | undefined;
beforeAll(async () => {
  const db = await createTestDatabase();
  databaseUrl = db.url;
  // The database stays for the file; the run's teardown drops it.
  await db.pool.end();
  await db.prisma.$disconnect();
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

type Healthy = { received: () => number[]; close: () => void };

function healthyWs(s: ServerProcess): Healthy {
  const got: number[] = [];
  const client = createWsClient({ url: s.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${s.token}` }, retryAttempts: 0 });
  client.subscribe<{ metricCollected: { cpuCount: number } }>({ query: QUERY }, { next: (v) => void got.push(v.data!.metricCollected.cpuCount), error: () => undefined, complete: () => undefined });
  return { received: () => got, close: () => void client.dispose() };
}

function healthySse(s: ServerProcess): Healthy {
  const got: number[] = [];
  const client = createSseClient({ url: `${s.url}/graphql/stream`, headers: { authorization: `Bearer ${s.token}` }, retryAttempts: 0 });
  client.subscribe<{ metricCollected: { cpuCount: number } }>({ query: QUERY }, { next: (v) => void got.push(v.data!.metricCollected.cpuCount), error: () => undefined, complete: () => undefined });
  return { received: () => got, close: () => client.dispose() };
}

function healthyYogaSse(s: ServerProcess): Healthy {
  const got: number[] = [];
  const controller = new AbortController();
  void (async () => {
    const res = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${s.token}` },
      body: JSON.stringify({ query: QUERY }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
      let end;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (block.startsWith('event: next') && data) got.push((JSON.parse(data.slice(6)) as { data: { metricCollected: { cpuCount: number } } }).data.metricCollected.cpuCount);
      }
    }
  })().catch(() => undefined);
  return { received: () => got, close: () => controller.abort() };
}

async function cutOffs(s: ServerProcess, transport: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`infrapulse_subscribers_cut_off_total{transport="${transport}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

interface Transport {
  name: string;
  healthy: (s: ServerProcess) => Healthy;
  stalled: (s: ServerProcess) => Promise<Stalled>;
}

const TRANSPORTS: Transport[] = [
  { name: 'ws', healthy: healthyWs, stalled: (s) => stalledWebSocket(s.url.replace('http', 'ws') + '/graphql', s.token, QUERY) },
  { name: 'graphql-sse', healthy: healthySse, stalled: (s) => stalledEventStream(`${s.url}/graphql/stream`, s.token, QUERY) },
  { name: 'yoga-sse', healthy: healthyYogaSse, stalled: (s) => stalledEventStream(`${s.url}/graphql`, s.token, QUERY) },
];

test('a stalled subscriber on each transport is cut off; the server stays up and the healthy ones get every event', { timeout: 180_000 }, async () => {
  const s = (server = await startServerProcess(databaseUrl));
  const stalled = await Promise.all(TRANSPORTS.map((t) => t.stalled(s)));
  const healthy = TRANSPORTS.map((t) => t.healthy(s));
  // Subscriptions start asynchronously: publish until every healthy client hears one (the stalled ones subscribed first).
  let published = 0;
  while (healthy.some((h) => h.received().length === 0)) {
    published = await s.publish(1);
    await new Promise((r) => setTimeout(r, 50));
  }
  const firsts = healthy.map((h) => h.received()[0]!);
  await until(() => healthy.every((h, i) => h.received().length === published - firsts[i]! + 1), 'the warm-up events', 5000);
  for (const st of stalled) st.pause();
  const before = await s.memory();
  const target = published + EVENTS;
  while (published < target && s.alive()) {
    published = await s.publish(BATCH, 'dev-a', CORES);
    await until(() => healthy.every((h) => h.received().at(-1) === published) || !s.alive(), `the healthy clients to receive event ${published}`, 20_000);
  }
  expect(s.alive(), 'the server process is alive').toBe(true);
  for (const [i, t] of TRANSPORTS.entries()) {
    // Every event, in order, exactly once.
    expect(healthy[i]!.received(), t.name).toEqual(Array.from({ length: published - firsts[i]! + 1 }, (_, k) => firsts[i]! + k));
    expect(await cutOffs(s, t.name), `${t.name} cut-offs`).toBe(1);
  }
  // 120 MB went out to each subscriber; holding the stalled clients' shares would keep 360 MB.
  // Measured through the same flood without stalled clients, after GC: heap + buffers move by
  // up to about 20 MB (writes still in flight), RSS by up to about 50 MB (the allocator keeps
  // freed pages), and 44 MB of heap + buffers once beside the whole suite under coverage. So the
  // bounds are well below the flood (a quarter of it at most), not near zero; each is read twice
  // a moment apart and the lower reading counts.
  const first = await s.memory();
  await new Promise((r) => setTimeout(r, 500));
  const second = await s.memory();
  const after = first.heapUsed + first.external <= second.heapUsed + second.external ? first : second;
  const mb = (n: number) => n / 2 ** 20;
  expect(mb(after.heapUsed + after.external - before.heapUsed - before.external), 'heap + external growth in MB').toBeLessThan(80);
  expect(mb(Math.min(after.rss, await s.rss()) - before.rss), 'RSS growth in MB').toBeLessThan(100);
  for (const [i, st] of stalled.entries()) {
    const end = await st.resumeUntilClosed(10_000);
    expect(end, `the stalled ${TRANSPORTS[i]!.name} connection was closed by the server`).not.toBeNull();
    expect(end!.bytes, 'it was cut off long before the end').toBeLessThan((EVENTS * CORES * 5) / 2);
  }
  for (const h of healthy) h.close();
});
