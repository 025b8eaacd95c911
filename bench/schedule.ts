/**
 * schedule: does polling keep its schedule while the API is busy? One process holds the API
 * server and the poller (as the app composes them, sharing one event loop and one database
 * pool) and polls `devices` simulated hosts every `intervalSec` s (all three collectors) with
 * POLLING_MAX_CONCURRENT_DEVICES = `maxConcurrent`. After every device has been reached once,
 * `runs` windows without API load, then `runs` windows while this process sends `qps` queries/s
 * (open loop, alternating the device list with latestMetrics and one device's metricHistory).
 *
 * Per window: the share of scheduled collector slots whose poll started within 1 s of the slot
 * (slots skipped because the previous one was still running or waiting count as missed), p99
 * lateness, skipped slots, polls_waiting (sampled every 100 ms), the poller process's
 * event-loop delay, the queries/s achieved, and the load average (the machine is shared).
 */
import http from 'node:http';
import os from 'node:os';
import { pollerUsage, simUsage, startFleet, waitAllOnline, type Fleet } from './poll.ts';
import type { PollerUsage } from './poll-protocol.ts';
import { quantile, round, stat, type Stat } from './stats.ts';

export interface ScheduleWindow {
  /** Scheduled collector slots in the window: started + skipped. */
  slots: number;
  /** Started within 1 s of the slot ÷ slots. */
  onTimeShare: number;
  p99LatenessMs: number;
  skippedSlots: number;
  waitingMax: number;
  waitingMean: number;
  loopDelayP99Ms: number;
  /** One collector's run (exec round trip + parse), the time a poll holds its concurrency slot: median and p99. */
  collectP50Ms: number;
  collectP99Ms: number;
  /** The simulator's CPU per exec it answered (ms): how starved the simulated hosts are. */
  simCpuPerExecMs: number;
  /** Queries answered per second (0 in the quiet windows). */
  qps: number;
  /** Queries refused per second with 503 (GRAPHQL_MAX_QUEUED reached): cheap, and what keeps the loop free. */
  refusedQps: number;
  queryP99Ms: number;
  /** 1-minute load average at the end of the window. */
  load1: number;
}

export interface SchedulePhase {
  onTimeShare: Stat;
  p99LatenessMs: Stat;
  skippedSlots: Stat;
  waitingMax: Stat;
  waitingMean: Stat;
  loopDelayP99Ms: Stat;
  collectP50Ms: Stat;
  collectP99Ms: Stat;
  simCpuPerExecMs: Stat;
  qps: Stat;
  refusedQps: Stat;
  queryP99Ms: Stat;
  load1: Stat;
  windows: ScheduleWindow[];
}

export interface ScheduleResult {
  devices: number;
  intervalSec: number;
  maxConcurrent: number;
  targetQps: number;
  windowSec: number;
  /** Collector slots the schedule asks for per second (devices × 3 ÷ interval). */
  scheduledSlotsPerSec: number;
  quiet: SchedulePhase;
  loaded: SchedulePhase;
  /** Load average over the whole part (start, end). */
  loadavgStart: number[];
  loadavgEnd: number[];
}

const LIST = `query ScheduleList($n: Int!) {
  devices(first: $n) { edges { node { id name status lastSeenAt latestMetrics { time cpuPercent memUsedPercent load1 netRxBytesPerSec } } } }
}`;
const HISTORY = `query ScheduleHistory($id: ID!, $from: DateTime!) {
  metricHistory(deviceId: $id, from: $from, bucketSeconds: 60) { time cpuPercent { avg min max } memUsedPercent { avg min max } load1 { avg min max } }
}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadavg = (): number[] => os.loadavg().map((l) => round(l));

/** An open-loop client: `qps` requests a second whatever the answers take (at most `maxOutstanding` in flight). */
function startLoad(o: { port: number; token: string; qps: number; deviceIds: string[] }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
  const latencies: number[] = [];
  let answered = 0;
  let refused = 0;
  let failed = 0;
  let lastError = '';
  let outstanding = 0;
  let sent = 0;
  // Past the server's own bound (GRAPHQL_MAX_CONCURRENT + GRAPHQL_MAX_QUEUED), so its refusals are seen, not masked by ours.
  const maxOutstanding = Math.max(1000, o.qps * 5);
  const post = (body: string): void => {
    if (outstanding >= maxOutstanding) return;
    outstanding++;
    sent++;
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port: o.port, path: '/graphql', method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${o.token}` } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        outstanding--;
        if (res.statusCode === 200 && !text.includes('"errors"')) {
          answered++;
          latencies.push(performance.now() - t0);
        } else if (res.statusCode === 503) {
          refused++;
        } else {
          failed++;
          lastError = `${res.statusCode}: ${text.slice(0, 200)}`;
        }
      });
    });
    req.on('error', (e) => {
      outstanding--;
      failed++;
      lastError = e.message;
    });
    req.end(body);
  };
  const TICK_MS = 20;
  const perTick = (o.qps * TICK_MS) / 1000;
  let credit = 0;
  let i = 0;
  const timer = setInterval(() => {
    credit += perTick;
    const from = new Date(Date.now() - 3_600_000).toISOString();
    for (; credit >= 1; credit--, i++) {
      const body = i % 2 === 0 ? { query: LIST, variables: { n: o.deviceIds.length } } : { query: HISTORY, variables: { id: o.deviceIds[i % o.deviceIds.length], from } };
      post(JSON.stringify(body));
    }
  }, TICK_MS);
  return {
    /** What was answered since the previous take. */
    take() {
      const out = { answered, refused, failed, sent, lastError, latencies: latencies.splice(0) };
      answered = 0;
      refused = 0;
      failed = 0;
      sent = 0;
      return out;
    },
    stop() {
      clearInterval(timer);
      agent.destroy();
    },
  };
}

type SimUsage = { cpuUs: number; execs: number };

function windowOf(u0: PollerUsage, u1: PollerUsage, sim: [SimUsage, SimUsage], secs: number, q: { answered: number; refused: number; latencies: number[] } | undefined): ScheduleWindow {
  const execs = sim[1].execs - sim[0].execs;
  const started = u1.slotsStarted - u0.slotsStarted;
  const late = u1.slotsLate - u0.slotsLate;
  const skipped = u1.skippedOverlaps - u0.skippedOverlaps;
  const slots = started + skipped;
  return {
    slots,
    onTimeShare: round(slots > 0 ? (started - late) / slots : 0),
    p99LatenessMs: round(quantile(u1.lateMs, 0.99)),
    skippedSlots: skipped,
    waitingMax: u1.waitingMax,
    waitingMean: round(u1.waitingMean),
    loopDelayP99Ms: round(u1.loopDelayP99Ms),
    collectP50Ms: round(quantile(u1.collectMs, 0.5)),
    collectP99Ms: round(quantile(u1.collectMs, 0.99)),
    simCpuPerExecMs: round(execs > 0 ? (sim[1].cpuUs - sim[0].cpuUs) / 1000 / execs : 0),
    qps: round(q ? q.answered / secs : 0),
    refusedQps: round(q ? q.refused / secs : 0),
    queryP99Ms: round(q && q.latencies.length > 0 ? quantile(q.latencies, 0.99) : 0),
    load1: round(os.loadavg()[0] ?? 0),
  };
}

function phaseOf(windows: ScheduleWindow[]): SchedulePhase {
  const s = (k: keyof ScheduleWindow) => stat(windows.map((w) => w[k]));
  return {
    onTimeShare: s('onTimeShare'),
    p99LatenessMs: s('p99LatenessMs'),
    skippedSlots: s('skippedSlots'),
    waitingMax: s('waitingMax'),
    waitingMean: s('waitingMean'),
    loopDelayP99Ms: s('loopDelayP99Ms'),
    collectP50Ms: s('collectP50Ms'),
    collectP99Ms: s('collectP99Ms'),
    simCpuPerExecMs: s('simCpuPerExecMs'),
    qps: s('qps'),
    refusedQps: s('refusedQps'),
    queryP99Ms: s('queryP99Ms'),
    load1: s('load1'),
    windows,
  };
}

async function measure(fleet: Fleet, o: { runs: number; windowSec: number; label: string; progress: (l: string) => void; load?: ReturnType<typeof startLoad> }): Promise<ScheduleWindow[]> {
  const windows: ScheduleWindow[] = [];
  let u0 = await pollerUsage(fleet);
  let s0 = await simUsage(fleet);
  o.load?.take();
  for (let run = 0; run < o.runs; run++) {
    const t0 = performance.now();
    await sleep(o.windowSec * 1000);
    const u1 = await pollerUsage(fleet);
    const s1 = await simUsage(fleet);
    const q = o.load?.take();
    const w = windowOf(u0, u1, [s0, s1], (performance.now() - t0) / 1000, q);
    windows.push(w);
    const errors = q && q.failed > 0 ? `; ${q.failed} queries failed (${q.lastError})` : '';
    o.progress(
      `schedule: ${o.label} window ${run + 1}/${o.runs}: ${round(w.onTimeShare * 100)} % of ${w.slots} slots within 1 s, p99 lateness ${w.p99LatenessMs} ms, ${w.skippedSlots} skipped, polls_waiting max ${w.waitingMax} (mean ${w.waitingMean}), loop delay p99 ${w.loopDelayP99Ms} ms, collector run p50/p99 ${w.collectP50Ms}/${w.collectP99Ms} ms, simulator ${w.simCpuPerExecMs} ms CPU per exec, ${w.qps} q/s answered (p99 ${w.queryP99Ms} ms), ${w.refusedQps} q/s refused${errors}, load ${w.load1}`,
    );
    u0 = u1;
    s0 = s1;
  }
  return windows;
}

export async function benchSchedule(o: { databaseUrl: string; dataDir: string; devices: number; intervalSec: number; maxConcurrent: number; qps: number; windowSec: number; runs: number; progress: (l: string) => void }): Promise<ScheduleResult> {
  const loadavgStart = loadavg();
  o.progress(`schedule: server + poller in one process, ${o.devices} simulated devices every ${o.intervalSec} s, concurrency ${o.maxConcurrent}; ${o.runs} quiet windows of ${o.windowSec} s, then ${o.runs} at ${o.qps} queries/s (about ${Math.round(2 * o.runs * o.windowSec + o.intervalSec * 3 + o.devices / 20)} s)`);
  const fleet = await startFleet({ databaseUrl: o.databaseUrl, dataDir: o.dataDir, devices: o.devices, intervalSec: o.intervalSec, withServer: true, maxConcurrent: o.maxConcurrent });
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    const { port, token } = fleet.ready;
    if (port === null || token === null) throw new Error('the poller process did not start the server');
    await waitAllOnline(fleet, o.devices, Math.max(60_000, o.devices * 200));
    // First polls of every device (handshakes) are behind us; let the phases settle.
    await sleep(o.intervalSec * 2000);
    const quiet = await measure(fleet, { runs: o.runs, windowSec: o.windowSec, label: 'quiet', progress: o.progress });
    const ids = await deviceIds(port, token, o.devices);
    load = startLoad({ port, token, qps: o.qps, deviceIds: ids });
    await sleep(o.intervalSec * 1000);
    const loaded = await measure(fleet, { runs: o.runs, windowSec: o.windowSec, label: `${o.qps} q/s`, progress: o.progress, load });
    return {
      devices: o.devices,
      intervalSec: o.intervalSec,
      maxConcurrent: o.maxConcurrent,
      targetQps: o.qps,
      windowSec: o.windowSec,
      scheduledSlotsPerSec: round((o.devices * 3) / o.intervalSec),
      quiet: phaseOf(quiet),
      loaded: phaseOf(loaded),
      loadavgStart,
      loadavgEnd: loadavg(),
    };
  } finally {
    load?.stop();
    await fleet.stop();
  }
}

async function deviceIds(port: number, token: string, n: number): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: `{ devices(first: ${n}) { edges { node { id } } } }` }),
  });
  const body = (await res.json()) as { data?: { devices: { edges: { node: { id: string } }[] } } };
  const ids = body.data?.devices.edges.map((e) => e.node.id) ?? [];
  if (ids.length === 0) throw new Error(`could not list the devices (${res.status})`);
  return ids;
}
