/**
 * fanout: graphql-ws subscribers of Subscription.metricCollected on the real server, beside a
 * bare `ws` broadcast of the same pre-serialised frame to the same number of clients (the
 * physical limit), and the shared-execution prototype (fanout-shared.ts). Each server runs in
 * its own child process with its own client process; all are connected at once and measured
 * alternately, so they share the machine's load.
 *
 *   saturation: events are published as fast as the clients confirm delivery (two batches in
 *     flight); figures are delivered messages (events × subscribers) per second and the server's
 *     CPU µs per delivered message.
 *   latency: a fixed rate for a fixed window; publish → client receive, from one shared clock.
 *   memory: the server's RSS after GC with N subscribers minus before any, per subscriber.
 */
import { Child } from './child.ts';
import { FANOUT_QUERY, type ClientsStart, type FromClients, type FromServer, type ServerMode, type ServerStart, type ToClients, type ToServer } from './fanout-protocol.ts';
import { quantile, round, stat, type Stat } from './stats.ts';

export interface FanoutPoint {
  subscribers: number;
  /** Delivered messages (events × subscribers) per second at saturation. */
  graphqlEventsPerSec: Stat;
  wsEventsPerSec: Stat;
  graphqlServerCpuUsPerMsg: Stat;
  wsServerCpuUsPerMsg: Stat;
  /** ws CPU per message ÷ GraphQL CPU per message, per alternating pair (1 = as cheap as a bare broadcast). */
  ratio: Stat;
  /** Publish → receive at `latencyRate` events/s to every subscriber. */
  latencyRate: number;
  p50Ms: Stat;
  p99Ms: Stat;
  wsP50Ms: Stat;
  wsP99Ms: Stat;
  /** Share of the messages published in the latency window that arrived within the drain timeout. */
  deliveredShare: Stat;
  /** Latency at 1 event/s (the target at 5,000 subscribers); only where measured. */
  p99MsAt1PerSec?: Stat;
  wsP99MsAt1PerSec?: Stat;
  /** Server RSS growth per subscriber from n/5 to n subscribers (after GC, events flowing), sampled after each round. */
  rssPerSubscriberKB: Stat;
  wsRssPerSubscriberKB: Stat;
  /** The shared-execution prototype (bench/fanout-shared.ts), same measurements. */
  prototype?: { eventsPerSec: Stat; serverCpuUsPerMsg: Stat; ratio: Stat; p50Ms: Stat; p99Ms: Stat; p99MsAt1PerSec?: Stat; rssPerSubscriberKB: Stat };
}

interface Rig {
  mode: ServerMode;
  server: Child<ToServer, FromServer>;
  clients: Child<ToClients, FromClients>;
  received: number;
  /** Server RSS after GC with the first wave of subscribers connected and events delivered. */
  rssBefore: number;
  firstWave: number;
}

/** A few events to every connected subscriber, so every code path has run before RSS is read. */
async function warm(rig: Rig, connected: number): Promise<void> {
  await reset(rig);
  rig.server.send({ type: 'publish', count: 3 });
  await waitDelivered(rig, 3 * connected, 60_000);
}

async function usage(s: Child<ToServer, FromServer>, gc = false) {
  return s.request({ type: 'usage', gc }, 'usage');
}

async function startRig(mode: ServerMode, databaseUrl: string, n: number): Promise<Rig> {
  const server = new Child<ToServer, FromServer>('./fanout-server.ts', `${mode} server`, { gc: true });
  server.send({ mode, databaseUrl } satisfies ServerStart as never);
  const ready = await server.next('ready', 120_000);
  const clients = new Child<ToClients, FromClients>('./fanout-clients.ts', `${mode} clients`);
  const rig: Rig = { mode, server, clients, received: 0, rssBefore: 0, firstWave: Math.ceil(n / 5) };
  clients.on((m) => {
    if (m.type === 'count') rig.received = m.received;
  });
  // RSS per subscriber is the growth from a fifth of the subscribers to all of them, each
  // after events have flowed and a GC: start-up memory (module loading, JIT, first queries)
  // moves RSS by tens of MB and would swamp a per-subscriber figure measured from zero.
  clients.send({ url: `ws://127.0.0.1:${ready.port}/graphql`, token: ready.token, connections: n, query: FANOUT_QUERY, firstWave: rig.firstWave } satisfies ClientsStart as never);
  const expectConnected = async (want: number): Promise<void> => {
    const connected = await clients.next('connected', 300_000);
    if (connected.failed > 0) throw new Error(`${mode}: ${connected.failed} of ${want} connections failed (${connected.firstError})`);
    // Subscribing is not acknowledged in graphql-transport-ws: wait until the server holds all of them.
    const until = Date.now() + 120_000;
    for (;;) {
      const u = await usage(server);
      if (u.subscriptions >= want) break;
      if (Date.now() > until) throw new Error(`${mode}: only ${u.subscriptions} of ${want} subscriptions became active`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  await expectConnected(rig.firstWave);
  await warm(rig, rig.firstWave);
  rig.rssBefore = (await usage(server, true)).rss;
  clients.send({ type: 'more' });
  await expectConnected(n);
  return rig;
}

async function reset(rig: Rig): Promise<void> {
  // The reply is the first count of 0 (a periodic report of the old count may come first).
  const zero = rig.clients.next('count', 60_000, (m) => m.received === 0);
  rig.clients.send({ type: 'reset' });
  await zero;
  rig.received = 0;
}

async function waitDelivered(rig: Rig, target: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (rig.received < target) {
    const left = until - Date.now();
    if (left <= 0) return false;
    try {
      await rig.clients.next('count', left);
    } catch {
      return false;
    }
  }
  return true;
}

async function saturate(rig: Rig, n: number, seconds: number): Promise<{ perSec: number; cpuUsPerMsg: number }> {
  await reset(rig);
  const batch = Math.max(1, Math.ceil(2000 / n));
  const u0 = await usage(rig.server);
  const t0 = performance.now();
  let published = 0;
  while (performance.now() - t0 < seconds * 1000) {
    // Two batches in flight: the server never waits for the parent, and never queues unboundedly.
    while (published - rig.received / n < 2 * batch) {
      rig.server.send({ type: 'publish', count: batch });
      published += batch;
    }
    await rig.clients.next('count', 60_000);
  }
  if (!(await waitDelivered(rig, published * n, 60_000))) throw new Error(`${rig.mode}: ${rig.received} of ${published * n} messages arrived`);
  const t1 = performance.now();
  const u1 = await usage(rig.server);
  const messages = published * n;
  return { perSec: messages / ((t1 - t0) / 1000), cpuUsPerMsg: (u1.cpuUs - u0.cpuUs) / messages };
}

async function latency(rig: Rig, n: number, rate: number, seconds: number): Promise<{ p50: number; p99: number; share: number }> {
  rig.clients.send({ type: 'mode', mode: 'latency' });
  await reset(rig);
  const published = await rig.server.request({ type: 'rate', perSec: rate, durationMs: seconds * 1000 }, 'published', seconds * 1000 + 60_000);
  const total = published.count * n;
  await waitDelivered(rig, total, 30_000);
  const { ms } = await rig.clients.request({ type: 'latencies' }, 'latencies');
  rig.clients.send({ type: 'mode', mode: 'count' });
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), share: ms.length / total };
}

export interface FanoutOptions {
  databaseUrl: string;
  subscribers: number[];
  runs: number;
  saturationSec: number;
  latencySec: number;
  latencyRate: number;
  prototype: boolean;
  progress: (line: string) => void;
}

export async function benchFanout(o: FanoutOptions): Promise<FanoutPoint[]> {
  const points: FanoutPoint[] = [];
  const modes: ServerMode[] = o.prototype ? ['graphql', 'ws', 'shared'] : ['graphql', 'ws'];
  for (const n of o.subscribers) {
    const slow = n >= 5000;
    const perRun = modes.length * (o.saturationSec + o.latencySec * (slow ? 2 : 1) + 2);
    o.progress(`fanout: ${n} subscribers on ${modes.join(', ')} servers: connecting, then ${o.runs} alternating rounds of ${o.saturationSec} s saturation + ${o.latencySec} s at ${o.latencyRate} ev/s${slow ? ' + 1 ev/s' : ''} (about ${Math.round(perRun * o.runs + n / 100)} s)`);
    const rigs: Rig[] = [];
    try {
      for (const mode of modes) rigs.push(await startRig(mode, o.databaseUrl, n));
      const r = Object.fromEntries(modes.map((m) => [m, { perSec: [] as number[], cpu: [] as number[], p50: [] as number[], p99: [] as number[], p99At1: [] as number[], share: [] as number[], rss: [] as number[] }]));
      for (let run = 0; run < o.runs; run++) {
        // Rotate the order so no server always runs right after another's burst.
        const order = rigs.map((_, i) => rigs[(i + run) % rigs.length]!);
        for (const rig of order) {
          const s = await saturate(rig, n, o.saturationSec);
          r[rig.mode]!.perSec.push(s.perSec);
          r[rig.mode]!.cpu.push(s.cpuUsPerMsg);
        }
        for (const rig of order) {
          const l = await latency(rig, n, o.latencyRate, o.latencySec);
          r[rig.mode]!.p50.push(l.p50);
          r[rig.mode]!.p99.push(l.p99);
          r[rig.mode]!.share.push(l.share);
          if (slow) r[rig.mode]!.p99At1.push((await latency(rig, n, 1, Math.max(2, Math.round(o.latencySec * 2)))).p99);
        }
        for (const rig of rigs) r[rig.mode]!.rss.push(((await usage(rig.server, true)).rss - rig.rssBefore) / 1024 / (n - rig.firstWave));
        const line = order.map((rig) => `${rig.mode} ${round(r[rig.mode]!.cpu.at(-1)!)} µs/msg p99 ${round(r[rig.mode]!.p99.at(-1)!)} ms`).join('; ');
        o.progress(`fanout: ${n} subscribers, round ${run + 1}/${o.runs}: ${line}`);
      }
      const g = r.graphql!;
      const w = r.ws!;
      const ratio = (cpu: number[]) => stat(cpu.map((c, i) => round(w.cpu[i]! / c)));
      const point: FanoutPoint = {
        subscribers: n,
        graphqlEventsPerSec: stat(g.perSec.map(Math.round)),
        wsEventsPerSec: stat(w.perSec.map(Math.round)),
        graphqlServerCpuUsPerMsg: stat(g.cpu),
        wsServerCpuUsPerMsg: stat(w.cpu),
        ratio: ratio(g.cpu),
        latencyRate: o.latencyRate,
        p50Ms: stat(g.p50),
        p99Ms: stat(g.p99),
        wsP50Ms: stat(w.p50),
        wsP99Ms: stat(w.p99),
        deliveredShare: stat(g.share),
        rssPerSubscriberKB: stat(g.rss),
        wsRssPerSubscriberKB: stat(w.rss),
      };
      if (slow) {
        point.p99MsAt1PerSec = stat(g.p99At1);
        point.wsP99MsAt1PerSec = stat(w.p99At1);
      }
      const s = r.shared;
      if (s) {
        point.prototype = {
          eventsPerSec: stat(s.perSec.map(Math.round)),
          serverCpuUsPerMsg: stat(s.cpu),
          ratio: ratio(s.cpu),
          p50Ms: stat(s.p50),
          p99Ms: stat(s.p99),
          rssPerSubscriberKB: stat(s.rss),
          ...(slow ? { p99MsAt1PerSec: stat(s.p99At1) } : {}),
        };
      }
      points.push(point);
    } finally {
      for (const rig of rigs) {
        await rig.clients.kill({ type: 'stop' });
        await rig.server.kill({ type: 'stop' });
      }
    }
  }
  return points;
}
