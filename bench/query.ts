/**
 * query: `metricHistory` (24 h in 5-minute buckets for one of 100 devices holding `days` of
 * samples at one per 5 min, loaded with COPY) and `devices(first: 500)` with latestMetrics,
 * both through GraphQL over HTTP against the real server in its own process; latency is
 * measured by the client, one request at a time.
 */
import http from 'node:http';
import type { BenchDatabase } from './db.ts';
import { Child } from './child.ts';
import { copySystemRows } from './copy.ts';
import type { FromServer, ServerStart, ToServer } from './fanout-protocol.ts';
import { benchDeviceId, systemRowsFor } from './rows.ts';
import { quantile, stat, type Stat } from './stats.ts';

export interface QueryResult {
  historyDevices: number;
  days: number;
  storedRows: number;
  listedDevices: number;
  /**
   * Requests per run; each run's p99, p50 and slowest request, summarised over runs. A p99 needs
   * a few hundred requests: of 30 (the quick size until 2026-12-04) it is the slowest one.
   */
  requests: number;
  metricHistoryP99Ms: Stat;
  metricHistoryP50Ms: Stat;
  metricHistoryMaxMs: Stat;
  deviceListP99Ms: Stat;
  deviceListP50Ms: Stat;
  deviceListMaxMs: Stat;
}

const HISTORY = `query History($id: ID!, $from: DateTime!) {
  metricHistory(deviceId: $id, from: $from, bucketSeconds: 300) {
    time samples cpuPercent { avg min max } memUsedPercent { avg min max } load1 { avg min max }
  }
}`;

const LIST = `query List($n: Int!) {
  devices(first: $n) {
    edges { node { id name hostname status lastSeenAt latestMetrics { time cpuPercent memUsedPercent load1 netRxBytesPerSec } } }
  }
}`;

export async function benchQuery(bench: BenchDatabase, o: { days: number; devices: number; listDevices: number; requests: number; runs: number; progress: (l: string) => void }): Promise<QueryResult> {
  const { prisma, pool } = bench.db;
  const perDevice = Math.round((o.days * 86_400) / 300);
  const total = perDevice * o.devices;
  o.progress(`query: loading ${total} rows (${o.days} days × ${o.devices} devices, one per 5 min) with COPY, ${o.listDevices} devices (about ${Math.round(total / 25_000) + 5} s)`);
  await pool.query('TRUNCATE system_metrics');
  await prisma.device.createMany({ data: Array.from({ length: o.listDevices }, (_, i) => ({ id: benchDeviceId(i), name: benchDeviceId(i), hostname: `10.0.${i >> 8}.${i & 255}`, username: 'bench', monitoringEnabled: false })), skipDuplicates: true });
  const end = Math.floor(Date.now() / 300_000) * 300_000;
  // In slices of 100k rows so memory stays small whatever the size.
  const slice = Math.max(1, Math.floor(100_000 / o.devices));
  for (let step = 0; step < perDevice; step += slice) {
    const steps = Math.min(slice, perDevice - step);
    await copySystemRows(pool, systemRowsFor({ count: steps * o.devices, devices: o.devices, end: end - step * 300_000, seed: step + 1 }));
  }
  // The other listed devices get one recent sample each, so every latestMetrics is present.
  const rest = systemRowsFor({ count: o.listDevices, devices: o.listDevices, end, seed: 7 }).slice(o.devices);
  await copySystemRows(pool, rest);
  await pool.query('ANALYZE system_metrics');

  const server = new Child<ToServer, FromServer>('./fanout-server.ts', 'query server');
  server.send({ mode: 'graphql', databaseUrl: bench.url } satisfies ServerStart as never);
  try {
    const { port, token } = await server.next('ready', 120_000);
    const client = leanClient(port, token);
    const post = async (query: string, variables: Record<string, unknown>, check?: (data: unknown) => void): Promise<number> => {
      const { ms, status, body } = await client(JSON.stringify({ query, variables }));
      if (status !== 200 || body.includes(ERRORS)) throw new Error(`query failed (${status}): ${body.subarray(0, 300).toString()}`);
      if (check) check((JSON.parse(body.toString()) as { data: unknown }).data);
      return ms;
    };
    const from = new Date(end - 86_400_000).toISOString();
    const history = (i: number, check?: (data: unknown) => void) => post(HISTORY, { id: benchDeviceId(i % o.devices), from }, check);
    const list = (check?: (data: unknown) => void) => post(LIST, { n: o.listDevices }, check);
    // The warm-up's answers are read whole: a day of 5-minute buckets, and every listed device with its latest sample.
    for (let i = 0; i < 5; i++) {
      await history(i, (d) => {
        const buckets = (d as { metricHistory: { samples: number }[] }).metricHistory;
        if (buckets.length < 280 || !buckets.every((b) => b.samples > 0)) throw new Error(`metricHistory answered ${buckets.length} buckets, not a day's`);
      });
      await list((d) => {
        const edges = (d as { devices: { edges: { node: { latestMetrics: unknown } }[] } }).devices.edges;
        if (edges.length !== o.listDevices || edges.some((e) => e.node.latestMetrics === null)) throw new Error(`the list answered ${edges.length} devices, not ${o.listDevices} with their latest sample`);
      });
    }
    o.progress(`query: ${o.runs} runs of ${o.requests} metricHistory and ${o.requests} device-list requests, one at a time`);
    const h99: number[] = [], h50: number[] = [], hMax: number[] = [], l99: number[] = [], l50: number[] = [], lMax: number[] = [];
    for (let run = 0; run < o.runs; run++) {
      const h: number[] = [];
      const l: number[] = [];
      for (let i = 0; i < o.requests; i++) {
        h.push(await history(i * 7 + run));
        l.push(await list());
      }
      h99.push(quantile(h, 0.99));
      h50.push(quantile(h, 0.5));
      hMax.push(Math.max(...h));
      l99.push(quantile(l, 0.99));
      l50.push(quantile(l, 0.5));
      lMax.push(Math.max(...l));
    }
    return {
      historyDevices: o.devices,
      days: o.days,
      storedRows: total + rest.length,
      listedDevices: o.listDevices,
      requests: o.requests,
      metricHistoryP99Ms: stat(h99),
      metricHistoryP50Ms: stat(h50),
      metricHistoryMaxMs: stat(hMax),
      deviceListP99Ms: stat(l99),
      deviceListP50Ms: stat(l50),
      deviceListMaxMs: stat(lMax),
    };
  } finally {
    await server.kill({ type: 'stop' });
  }
}

const ERRORS = Buffer.from('"errors"');

/**
 * POSTs over one kept-alive connection (as fetch did) and times the answer to its last byte. The
 * timed answers are checked for their status and for an `errors` key, not parsed (the warm-up's
 * are). Until 2026-12-05 the bench read each with fetch and `res.json()`: in a quick run's 1,800
 * timed requests its own process then ran 37 scavenges of about 10 ms, each inside a request it
 * was timing, and fetch added about 1 ms to every request; now 16 scavenges of about 2 ms
 * (docs/benchmarks.md, "A frame per member, built once").
 */
function leanClient(port: number, token: string): (body: string) => Promise<{ ms: number; status: number; body: Buffer }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  return (body) =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
}
