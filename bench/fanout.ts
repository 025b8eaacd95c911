/**
 * fanout: graphql-ws subscribers of Subscription.metricCollected on the shipped server
 * (buildServer: src/server, one execution per distinct subscription), beside a bare `ws`
 * broadcast of the same pre-serialised frame to the same number of clients (the physical
 * limit). Each server runs in its own child process with its own client process; both are
 * connected at once and measured alternately, so they share the machine's load.
 *
 *   saturation: events are published as fast as the clients confirm delivery (two batches in
 *     flight); figures are delivered messages (events × subscribers) per second and the server's
 *     CPU µs per delivered message. At DISTINCT_UP_TO subscribers and fewer, a third rig's
 *     subscribers each name their operation apart: one group, one execution per subscriber.
 *   latency: a fixed rate for a fixed window; publish → client receive, from one shared clock.
 *   stalled: two adjacent latency windows of at least STALL_WINDOW_SEC, one with an extra
 *     subscriber whose socket is not read and one without, in alternating order per round.
 *   memory: the server's RSS after GC, growth from n/5 to n subscribers, per subscriber.
 *   scale (benchFanoutScale): N graphql-ws subscribers on one server at 1 event/s.
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
  /** GraphQL p99 in a latency window with one more subscriber that stopped reading. */
  stalledP99Ms: Stat;
  /** GraphQL p99 in the window of the same length adjacent to it, without the stalled subscriber. */
  stalledBaseP99Ms: Stat;
  /** (stalled p99 − base p99) ÷ base p99 per round: how much one stalled subscriber moves the healthy ones' p99. */
  stalledP99Change: Stat;
  /** Saturation on the shipped server with every subscriber a group of its own (`distinct`); only where measured. */
  distinctEventsPerSec?: Stat;
  distinctServerCpuUsPerMsg?: Stat;
}

export interface FanoutScale {
  subscribers: number;
  /** Subscribers connected and subscribed (the rest failed to connect). */
  connected: number;
  ratePerSec: number;
  seconds: number;
  deliveredShare: Stat;
  p50Ms: Stat;
  p99Ms: Stat;
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

async function startRig(mode: ServerMode, databaseUrl: string, n: number, distinct = false): Promise<Rig> {
  const label = distinct ? `${mode} (distinct)` : mode;
  const server = new Child<ToServer, FromServer>('./fanout-server.ts', `${label} server`, { gc: true });
  server.send({ mode, databaseUrl } satisfies ServerStart as never);
  const ready = await server.next('ready', 120_000);
  const clients = new Child<ToClients, FromClients>('./fanout-clients.ts', `${label} clients`);
  const rig: Rig = { mode, server, clients, received: 0, rssBefore: 0, firstWave: Math.ceil(n / 5) };
  clients.on((m) => {
    if (m.type === 'count') rig.received = m.received;
  });
  // RSS per subscriber is the growth from a fifth of the subscribers to all of them, each
  // after events have flowed and a GC: start-up memory (module loading, JIT, first queries)
  // moves RSS by tens of MB and would swamp a per-subscriber figure measured from zero.
  clients.send({ url: `ws://127.0.0.1:${ready.port}/graphql`, token: ready.token, connections: n, query: FANOUT_QUERY, firstWave: rig.firstWave, distinct } satisfies ClientsStart as never);
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
  progress: (line: string) => void;
}

/**
 * The shortest window of the stalled pair. The quick run's 1 s window holds ten events at 10
 * events/s, and one late event is the p99: its change at 5,000 subscribers read +16 … +33 %
 * (2026-12-05, Intel Xeon) where 5 s windows read +0.06 % right after.
 */
const STALL_WINDOW_SEC = 3;

/**
 * The healthy subscribers' p99 in two adjacent windows of the same length, with and without one
 * more subscriber that stopped reading, in the order `stalledFirst` says (rounds alternate it, so
 * neither window always follows the other's set-up). Until 2026-12-05 the base was the round's
 * latency window, measured before the 1 event/s window at 5,000 subscribers.
 */
async function stalledPair(rig: Rig, n: number, o: FanoutOptions, stalledFirst: boolean): Promise<{ base: number; stalled: number }> {
  const seconds = Math.max(STALL_WINDOW_SEC, o.latencySec);
  const window = () => latency(rig, n, o.latencyRate, seconds);
  if (stalledFirst) {
    const stalled = await withStalled(rig, n, window);
    return { stalled: stalled.p99, base: (await window()).p99 };
  }
  const base = await window();
  return { base: base.p99, stalled: (await withStalled(rig, n, window)).p99 };
}

/** One extra subscriber that stops reading, for the length of one latency window on the GraphQL server. */
async function withStalled<T>(rig: Rig, n: number, measure: () => Promise<T>): Promise<T> {
  const stalled = rig.clients.next('stalled', 60_000);
  rig.clients.send({ type: 'stall' });
  await stalled;
  await untilSubscriptions(rig, n + 1);
  try {
    return await measure();
  } finally {
    rig.clients.send({ type: 'unstall' });
    await untilSubscriptions(rig, n);
  }
}

async function untilSubscriptions(rig: Rig, want: number): Promise<void> {
  const until = Date.now() + 60_000;
  while ((await usage(rig.server)).subscriptions !== want) {
    if (Date.now() > until) throw new Error(`${rig.mode}: the server never held ${want} subscriptions`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Subscriber counts up to which the distinct rig runs: at 5,000 it would hold 5,000 more connections for one figure. */
const DISTINCT_UP_TO = 1000;

type Samples = Record<'perSec' | 'cpu' | 'p50' | 'p99' | 'p99At1' | 'share' | 'rss' | 'stalledP99' | 'stalledBaseP99', number[]>;
const samples = (): Samples => ({ perSec: [], cpu: [], p50: [], p99: [], p99At1: [], share: [], rss: [], stalledP99: [], stalledBaseP99: [] });

/** One round: saturation on each rig, latency on each, the stalled pair on GraphQL, RSS. */
async function measureRound(o: FanoutOptions, rigs: Rig[], run: number, n: number, r: Record<ServerMode, Samples>): Promise<void> {
  const slow = n >= 5000;
  // Rotate the order so no server always runs right after another's burst.
  const order = rigs.map((_, i) => rigs[(i + run) % rigs.length]!);
  for (const rig of order) {
    const s = await saturate(rig, n, o.saturationSec);
    r[rig.mode].perSec.push(s.perSec);
    r[rig.mode].cpu.push(s.cpuUsPerMsg);
  }
  for (const rig of order) {
    const l = await latency(rig, n, o.latencyRate, o.latencySec);
    r[rig.mode].p50.push(l.p50);
    r[rig.mode].p99.push(l.p99);
    r[rig.mode].share.push(l.share);
    if (slow) r[rig.mode].p99At1.push((await latency(rig, n, 1, Math.max(2, Math.round(o.latencySec * 2)))).p99);
    if (rig.mode === 'graphql') {
      const pair = await stalledPair(rig, n, o, run % 2 === 1);
      r.graphql.stalledP99.push(pair.stalled);
      r.graphql.stalledBaseP99.push(pair.base);
    }
  }
  for (const rig of rigs) r[rig.mode].rss.push(((await usage(rig.server, true)).rss - rig.rssBefore) / 1024 / (n - rig.firstWave));
}

function point(o: FanoutOptions, n: number, g: Samples, w: Samples, d: Samples): FanoutPoint {
  const ratio = stat(g.cpu.map((c, i) => round(w.cpu[i]! / c)));
  const p: FanoutPoint = {
    subscribers: n,
    graphqlEventsPerSec: stat(g.perSec.map(Math.round)),
    wsEventsPerSec: stat(w.perSec.map(Math.round)),
    graphqlServerCpuUsPerMsg: stat(g.cpu),
    wsServerCpuUsPerMsg: stat(w.cpu),
    ratio,
    latencyRate: o.latencyRate,
    p50Ms: stat(g.p50),
    p99Ms: stat(g.p99),
    wsP50Ms: stat(w.p50),
    wsP99Ms: stat(w.p99),
    deliveredShare: stat(g.share),
    rssPerSubscriberKB: stat(g.rss),
    wsRssPerSubscriberKB: stat(w.rss),
    stalledP99Ms: stat(g.stalledP99),
    stalledBaseP99Ms: stat(g.stalledBaseP99),
    stalledP99Change: stat(g.stalledP99.map((s, i) => round((s - g.stalledBaseP99[i]!) / g.stalledBaseP99[i]!))),
  };
  if (n >= 5000) {
    p.p99MsAt1PerSec = stat(g.p99At1);
    p.wsP99MsAt1PerSec = stat(w.p99At1);
  }
  if (d.cpu.length > 0) {
    p.distinctEventsPerSec = stat(d.perSec.map(Math.round));
    p.distinctServerCpuUsPerMsg = stat(d.cpu);
  }
  return p;
}

export async function benchFanout(o: FanoutOptions): Promise<FanoutPoint[]> {
  const points: FanoutPoint[] = [];
  const modes: ServerMode[] = ['graphql', 'ws'];
  for (const n of o.subscribers) {
    const slow = n >= 5000;
    const stallSec = Math.max(STALL_WINDOW_SEC, o.latencySec);
    const withDistinct = n <= DISTINCT_UP_TO;
    const perRun = modes.length * (o.saturationSec + o.latencySec * (slow ? 2 : 1) + 2) + 2 * stallSec + 5 + (withDistinct ? o.saturationSec + 1 : 0);
    o.progress(`fanout: ${n} subscribers on ${modes.join(', ')} servers${withDistinct ? ', and on a graphql server where each is a subscription of its own' : ''}: connecting, then ${o.runs} alternating rounds of ${o.saturationSec} s saturation + ${o.latencySec} s at ${o.latencyRate} ev/s${slow ? ' + 1 ev/s' : ''} + ${stallSec} s with and ${stallSec} s without a stalled subscriber (about ${Math.round(perRun * o.runs + (n / 100) * (withDistinct ? 1.5 : 1))} s)`);
    const rigs: Rig[] = [];
    let distinct: Rig | undefined;
    try {
      for (const mode of modes) rigs.push(await startRig(mode, o.databaseUrl, n));
      if (withDistinct) distinct = await startRig('graphql', o.databaseUrl, n, true);
      const r: Record<ServerMode, Samples> = { graphql: samples(), ws: samples() };
      const d = samples();
      for (let run = 0; run < o.runs; run++) {
        await measureRound(o, rigs, run, n, r);
        if (distinct) {
          const s = await saturate(distinct, n, o.saturationSec);
          d.perSec.push(s.perSec);
          d.cpu.push(s.cpuUsPerMsg);
        }
        const line = [...rigs.map((rig) => `${rig.mode} ${round(r[rig.mode].cpu.at(-1)!)} µs/msg p99 ${round(r[rig.mode].p99.at(-1)!)} ms`), ...(distinct ? [`distinct ${round(d.cpu.at(-1)!)} µs/msg`] : [])].join('; ');
        o.progress(`fanout: ${n} subscribers, round ${run + 1}/${o.runs}: ${line}; graphql p99 with a stalled subscriber ${round(r.graphql.stalledP99.at(-1)!)} ms, without ${round(r.graphql.stalledBaseP99.at(-1)!)} ms`);
      }
      points.push(point(o, n, r.graphql, r.ws, d));
    } finally {
      for (const rig of distinct ? [...rigs, distinct] : rigs) {
        await rig.clients.kill({ type: 'stop' });
        await rig.server.kill({ type: 'stop' });
      }
    }
  }
  return points;
}

/** `subscribers` graphql-ws clients on one shipped server, each receiving `ratePerSec` events/s for `seconds`, `runs` times. */
export async function benchFanoutScale(o: { databaseUrl: string; subscribers: number; ratePerSec: number; seconds: number; runs: number; progress: (l: string) => void }): Promise<FanoutScale> {
  o.progress(`fanout: ${o.subscribers} graphql-ws subscribers on one server, ${o.runs} windows of ${o.seconds} s at ${o.ratePerSec} ev/s (about ${Math.round(o.subscribers / 150 + o.runs * (o.seconds + 10))} s)`);
  const server = new Child<ToServer, FromServer>('./fanout-server.ts', 'scale server', { gc: true });
  const clients = new Child<ToClients, FromClients>('./fanout-clients.ts', 'scale clients');
  try {
    server.send({ mode: 'graphql', databaseUrl: o.databaseUrl } satisfies ServerStart as never);
    const ready = await server.next('ready', 120_000);
    const rig: Rig = { mode: 'graphql', server, clients, received: 0, rssBefore: 0, firstWave: o.subscribers };
    clients.on((m) => {
      if (m.type === 'count') rig.received = m.received;
    });
    clients.send({ url: `ws://127.0.0.1:${ready.port}/graphql`, token: ready.token, connections: o.subscribers, query: FANOUT_QUERY } satisfies ClientsStart as never);
    const connected = await clients.next('connected', 600_000);
    await untilSubscriptions(rig, connected.connections);
    const r = { share: [] as number[], p50: [] as number[], p99: [] as number[] };
    for (let run = 0; run < o.runs; run++) {
      const l = await latency(rig, connected.connections, o.ratePerSec, o.seconds);
      r.share.push(round(l.share));
      r.p50.push(l.p50);
      r.p99.push(l.p99);
      o.progress(`fanout: ${connected.connections} subscribers at ${o.ratePerSec} ev/s, window ${run + 1}/${o.runs}: delivered ${Math.round(l.share * 1000) / 10} %, p99 ${round(l.p99)} ms`);
    }
    return { subscribers: o.subscribers, connected: connected.connections, ratePerSec: o.ratePerSec, seconds: o.seconds, deliveredShare: stat(r.share), p50Ms: stat(r.p50), p99Ms: stat(r.p99) };
  } finally {
    await clients.kill({ type: 'stop' });
    await server.kill({ type: 'stop' });
  }
}
