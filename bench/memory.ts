/**
 * memory: RSS of one process holding the API server and the poller over one event bus (as the
 * app composes them) while it polls `devices` simulated hosts and `subscribers` graphql-ws
 * clients receive every metricCollected event. Sampled a few seconds apart, each time as it runs
 * and then right after a forced GC (the floor; the figure).
 */
import { Child } from './child.ts';
import { FANOUT_QUERY, type ClientsStart, type FromClients, type ToClients } from './fanout-protocol.ts';
import { pollerUsage, startFleet, waitAllOnline } from './poll.ts';
import { stat, type Stat } from './stats.ts';

export interface MemoryResult {
  devices: number;
  subscribers: number;
  rssMB: Stat;
  /** RSS as the process runs, sampled just before each forced GC: what `top` shows, garbage and V8's heap growth included. */
  runningRssMB: Stat;
  /** metricCollected messages the subscribers received while sampling (shows the events flowed). */
  deliveredMessages: number;
  /** Polls per second while sampling, against the schedule's devices ÷ interval: a process that cannot keep up falls behind. */
  pollsPerSec: number;
  scheduledPollsPerSec: number;
  /** The most sample rows waiting for the writer at any sample: a backlog that grows is held in memory. */
  writerQueuedRowsMax: number;
  /**
   * While sampling: CPU of the whole process (cores: 1 is one core all the time) and of its
   * JavaScript thread alone (share of that thread's wall time). The thread near 1 is a process
   * at capacity, whatever the machine has left.
   */
  processCores: number;
  mainThreadBusy: number | null;
}

export async function benchMemory(o: { databaseUrl: string; dataDir: string; devices: number; subscribers: number; settleSec: number; runs: number; intervalSec: number; progress: (l: string) => void }): Promise<MemoryResult> {
  o.progress(`memory: server + poller in one process, ${o.devices} simulated devices every ${o.intervalSec} s, ${o.subscribers} graphql-ws subscribers; settling ${o.settleSec} s, then ${o.runs} RSS samples (about ${o.settleSec + o.runs * 3 + Math.round(o.devices / 20)} s)`);
  const fleet = await startFleet({ databaseUrl: o.databaseUrl, dataDir: o.dataDir, devices: o.devices, intervalSec: o.intervalSec, withServer: true });
  const clients = new Child<ToClients, FromClients>('./fanout-clients.ts', 'memory clients');
  let received = 0;
  clients.on((m) => {
    if (m.type === 'count') received = m.received;
  });
  try {
    const { port, token } = fleet.ready;
    if (port === null || token === null) throw new Error('the poller process did not start the server');
    // Devices first: a thousand SSH handshakes starve the event loop, and graphql-ws closes
    // connections whose connection_init it has not read within 3 s (4408).
    await waitAllOnline(fleet, o.devices, Math.max(60_000, o.devices * 200));
    clients.send({ url: `ws://127.0.0.1:${port}/graphql`, token, connections: o.subscribers, query: FANOUT_QUERY } satisfies ClientsStart as never);
    const connected = await clients.next('connected', 300_000);
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${o.subscribers} subscribers could not connect (${connected.firstError})`);
    await new Promise((r) => setTimeout(r, o.settleSec * 1000));
    const zero = clients.next('count', 60_000, (m) => m.received === 0);
    clients.send({ type: 'reset' });
    await zero;
    received = 0;
    const rss: number[] = [];
    const running: number[] = [];
    const first = await pollerUsage(fleet);
    const startedAt = performance.now();
    let last = first;
    let queuedMax = 0;
    for (let i = 0; i < o.runs; i++) {
      await new Promise((r) => setTimeout(r, 3000));
      const before = await pollerUsage(fleet);
      running.push(before.rss / 2 ** 20);
      const u = await pollerUsage(fleet, true);
      last = u;
      queuedMax = Math.max(queuedMax, before.writerQueuedRows, u.writerQueuedRows);
      if (u.subscriptions < o.subscribers) throw new Error(`only ${u.subscriptions} of ${o.subscribers} subscriptions are active`);
      rss.push(u.rss / 2 ** 20);
    }
    const elapsedUs = (performance.now() - startedAt) * 1000;
    const round2 = (x: number): number => Math.round(x * 100) / 100;
    const pollsPerSec = Math.round(((last.pollsTotal - first.pollsTotal) / (elapsedUs / 1e6)) * 10) / 10;
    const mainThreadBusy = last.mainThreadCpuUs === undefined || first.mainThreadCpuUs === undefined ? null : round2((last.mainThreadCpuUs - first.mainThreadCpuUs) / elapsedUs);
    return {
      devices: o.devices,
      subscribers: o.subscribers,
      rssMB: stat(rss),
      runningRssMB: stat(running),
      deliveredMessages: received,
      pollsPerSec,
      scheduledPollsPerSec: o.devices / o.intervalSec,
      writerQueuedRowsMax: queuedMax,
      processCores: round2((last.cpuUs - first.cpuUs) / elapsedUs),
      mainThreadBusy,
    };
  } finally {
    await clients.kill({ type: 'stop' });
    await fleet.stop();
  }
}
