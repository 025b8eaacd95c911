/**
 * poll: the real poller against the fleet simulator, each in its own process. After every
 * device has been reached once (SSH handshakes are a one-off cost, kept out of the figures),
 * consecutive windows measure the poller's CPU per device-poll (all three collectors), polls
 * per second and the p99 of the poller's own poll duration (connect-if-needed, execs, parse,
 * coalesced write). The `scale` part runs the same measurement at 100 to 10,000 devices
 * (bigger fleets at a longer interval) and reads the poller's RSS and slot lateness too.
 */
import { CHECK_LIMITS } from '../src/collectors/checks.ts';
import { Child } from './child.ts';
import type { FromPoller, FromSim, PollerStart, PollerUsage, ToPoller, ToSim } from './poll-protocol.ts';
import { quantile, round, stat, type Stat } from './stats.ts';

export interface PollPoint {
  devices: number;
  intervalSec: number;
  /** What the schedule asks for: devices ÷ interval full device-polls (3 collectors each) per second. */
  scheduledPollsPerSec: number;
  /** Poller CPU per full device-poll (system + containers + drives), whatever the scheduler's grouping. */
  cpuMsPerPoll: Stat;
  /**
   * The part of cpuMsPerPoll spent off the JavaScript thread: V8's helper threads (garbage
   * collection's concurrent and parallel phases, optimising compiles) and libuv's pool. Absent
   * where the kernel does not report a thread's CPU time.
   */
  helperThreadsCpuMsPerPoll?: Stat;
  /**
   * Poller CPU per full device-poll over the warmUpSec after polls kept to the schedule, before
   * the windows: the JIT still compiling the hot paths and V8 still sizing the old generation.
   * Kept out of cpuMsPerPoll, which is the steady state a long-running poller pays.
   */
  warmUpCpuMsPerPoll: number;
  warmUpSec: number;
  /** Full device-polls per second (collector runs ÷ 3). */
  pollsPerSec: Stat;
  /** p99 duration of the poller's polls (each runs the collectors due then, here all three in one exec, with its write). */
  p99PollMs: Stat;
  /** p99 of how late a collector's slot started against its phase, per window. */
  lateP99Ms: Stat;
  /** The poller process's RSS at the end of each window (no forced GC: it would bill the window's CPU). */
  rssMB: Stat;
  /** Poller CPU per collector run. */
  cpuMsPerCollectorRun: Stat;
  /** The simulator's CPU per full device-poll (the SSH server side), for scale. */
  simulatorCpuMsPerPoll: Stat;
  /** Seconds from the poller's start until every device had been polled successfully once (the connection burst). */
  onlineSec: number;
  /** Seconds after that until polls kept to the schedule (waitSteady), when the windows began. */
  settleSec: number;
  /** Polls in which a collector failed, over all windows. */
  failedShare: number;
  /** SSH handshakes the poller completed during the measured windows: 0 when every connection is kept. */
  handshakesInWindows: number;
  /** The latest failure seen, when there were any. */
  lastFailure?: string;
  /** The `poll` part only: the same fleet with checks added (measureChecks). */
  checks?: CheckCost;
}

/**
 * The poll part's checks: after the windows above, BENCH_CHECKS (bench/poll-poller.ts) are added
 * on every device, each run every `intervalSec`, and as many windows again measure them.
 * `cpuMsPerCheckRun` is each window's poller CPU minus what its collector runs cost at the
 * windows without checks (their median CPU per collector run), divided by the window's check runs.
 */
export interface CheckCost {
  checks: number;
  intervalSec: number;
  /** Check runs ended in the measured windows. */
  checkRuns: number;
  checkRunsPerSec: Stat;
  cpuMsPerCheckRun: Stat;
  /** Poller CPU per full device-poll in the same windows, checks included (compare cpuMsPerPoll). */
  cpuMsPerPollWithChecks: Stat;
  /** Stored results by status at the end (the simulated backup fails now and then). */
  statuses: Record<string, number>;
}

export interface Fleet {
  sim: Child<ToSim, FromSim>;
  poller: Child<ToPoller, FromPoller>;
  ready: Extract<FromPoller, { type: 'ready' }>;
  stop(): Promise<void>;
}

export async function startFleet(o: { databaseUrl: string; dataDir: string; devices: number; intervalSec: number; withServer: boolean; maxConcurrent?: number }): Promise<Fleet> {
  const sim = new Child<ToSim, FromSim>('./poll-sim.ts', 'simulator');
  sim.send({ devices: o.devices } as never);
  const s = await sim.next('ready', 120_000);
  const poller = new Child<ToPoller, FromPoller>('./poll-poller.ts', 'poller', { gc: true });
  // Enough slots that the cap never limits the schedule: each poll waits mostly on the simulator.
  const start: PollerStart = { databaseUrl: o.databaseUrl, dataDir: o.dataDir, sim: s, intervalSec: o.intervalSec, maxConcurrent: o.maxConcurrent ?? Math.max(10, Math.ceil(o.devices / 10)), withServer: o.withServer };
  poller.send(start as never);
  const ready = await poller.next('ready', 120_000);
  return {
    sim,
    poller,
    ready,
    async stop() {
      await poller.kill({ type: 'stop' });
      await sim.kill();
    },
  };
}

export async function pollerUsage(f: Fleet, gc = false): Promise<PollerUsage> {
  return f.poller.request({ type: 'usage', gc }, 'usage');
}

export async function simUsage(f: Fleet): Promise<Extract<FromSim, { type: 'usage' }>> {
  return f.sim.request({ type: 'usage' }, 'usage');
}

/** Waits until every device has been polled successfully at least once. */
export async function waitAllOnline(f: Fleet, devices: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const u = await pollerUsage(f);
    if (u.online >= devices) return;
    if (Date.now() > until) throw new Error(`only ${u.online} of ${devices} simulated devices came ONLINE within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const COLLECTORS = 3;

async function measureChecks(fleet: Fleet, o: { runs: number; windowSec: number; pollIntervalSec: number; cpuMsPerCollectorRun: number; label: string; progress: (l: string) => void }): Promise<CheckCost> {
  // Checks run at most every CHECK_LIMITS.intervalMin seconds; otherwise as often as the collectors.
  const intervalSec = Math.max(CHECK_LIMITS.intervalMin, o.pollIntervalSec);
  const added = await fleet.poller.request({ type: 'add-checks', intervalSec }, 'checks-added');
  // They start at once (as after createCheck): past that burst, runs follow each pair's phase.
  await sleep(Math.min(intervalSec, o.windowSec) * 1000);
  const cpu: number[] = [];
  const perPoll: number[] = [];
  const rate: number[] = [];
  let checkRuns = 0;
  let u0 = await pollerUsage(fleet);
  for (let run = 0; run < o.runs; run++) {
    const t0 = performance.now();
    await sleep(o.windowSec * 1000);
    const u1 = await pollerUsage(fleet);
    const secs = (performance.now() - t0) / 1000;
    const runs = u1.checkRuns - u0.checkRuns;
    const cpuMs = (u1.cpuUs - u0.cpuUs) / 1000;
    const collectorRuns = u1.collectorRuns - u0.collectorRuns;
    if (runs > 0) cpu.push((cpuMs - collectorRuns * o.cpuMsPerCollectorRun) / runs);
    if (collectorRuns > 0) perPoll.push(cpuMs / (collectorRuns / COLLECTORS));
    rate.push(runs / secs);
    checkRuns += runs;
    o.progress(`poll: ${o.label} with ${added.checks} checks every ${intervalSec} s, window ${run + 1}/${o.runs}: ${runs} check runs, ${cpu.length > 0 && runs > 0 ? round(cpu.at(-1)!) : '–'} ms CPU/check run`);
    u0 = u1;
  }
  if (checkRuns === 0) throw new Error(`no check ran in ${o.runs} windows of ${o.windowSec} s`);
  const { statuses } = await fleet.poller.request({ type: 'check-statuses' }, 'check-statuses');
  return { checks: added.checks, intervalSec, checkRuns, checkRunsPerSec: stat(rate), cpuMsPerCheckRun: stat(cpu), cpuMsPerPollWithChecks: stat(perPoll), statuses };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits out the tail of the connection burst: until a 5 s span has polled at no more than the
 * scheduled rate (no catching up) with its slots' lateness p99 under a second, at most three
 * intervals. A fixed settling time let the backlog of 10,000 handshakes into the windows on a
 * slow day and not on another. Empties the lateness and duration samples. Returns the seconds waited.
 */
async function waitSteady(f: Fleet, scheduledPollsPerSec: number, intervalSec: number): Promise<number> {
  const t0 = performance.now();
  const spanSec = 5;
  let u0 = await pollerUsage(f);
  while (performance.now() - t0 < intervalSec * 3000) {
    await sleep(spanSec * 1000);
    const u1 = await pollerUsage(f);
    const rate = (u1.collectorRuns - u0.collectorRuns) / COLLECTORS / spanSec;
    const lateP99 = u1.lateMs.length > 0 ? quantile(u1.lateMs, 0.99) : 0;
    u0 = u1;
    if (lateP99 < 1000 && rate <= scheduledPollsPerSec * 1.1) break;
  }
  return round((performance.now() - t0) / 1000);
}

/**
 * Polls on schedule for `seconds` before anything is measured, and returns their CPU per full
 * device-poll. A freshly started poller pays 20-50 % more per poll for its first half minute or
 * so (2026-12-03, 1,000 devices: 1.3-1.5 ms, then 1.0-1.1): V8's helper threads are compiling
 * the hot paths and its old generation is still being sized, so windows taken at once measured
 * the start-up and moved with it.
 */
async function warmUp(f: Fleet, seconds: number): Promise<number> {
  const u0 = await pollerUsage(f);
  await sleep(seconds * 1000);
  const u1 = await pollerUsage(f);
  const polls = (u1.collectorRuns - u0.collectorRuns) / COLLECTORS;
  return polls > 0 ? (u1.cpuUs - u0.cpuUs) / 1000 / polls : 0;
}

export async function benchPoll(o: { databaseUrl: string; dataDir: string; fleets: { devices: number; intervalSec: number }[]; runs: number; windowSec: number; warmUpSec: number; part: string; progress: (l: string) => void; notes: string[]; checks?: boolean }): Promise<PollPoint[]> {
  const { notes, part } = o;
  const points: PollPoint[] = [];
  for (const { devices, intervalSec } of o.fleets) {
    o.progress(`${part}: ${devices} simulated devices every ${intervalSec} s: connecting all, waiting until polls keep to the schedule, then ${o.warmUpSec} s of warm-up and ${o.runs} windows of ${o.windowSec} s (about ${Math.round(intervalSec * 2 + o.warmUpSec + o.runs * o.windowSec + devices / 50)} s)`);
    const fleet = await startFleet({ databaseUrl: o.databaseUrl, dataDir: o.dataDir, devices, intervalSec, withServer: false });
    try {
      const started = performance.now();
      await waitAllOnline(fleet, devices, Math.max(60_000, devices * 200));
      const onlineSec = round((performance.now() - started) / 1000);
      const settleSec = await waitSteady(fleet, devices / intervalSec, intervalSec);
      o.progress(`${part}: ${devices} devices: all ONLINE ${onlineSec} s after the poller started, on schedule ${settleSec} s later`);
      const warmUpCpuMsPerPoll = await warmUp(fleet, o.warmUpSec);
      o.progress(`${part}: ${devices} devices: ${round(warmUpCpuMsPerPoll)} ms CPU/poll over the ${o.warmUpSec} s of warm-up`);
      const cpu: number[] = [];
      const helper: number[] = [];
      const late: number[] = [];
      const rss: number[] = [];
      const rate: number[] = [];
      const p99: number[] = [];
      const simCpu: number[] = [];
      const perRun: number[] = [];
      let polls = 0;
      let lastFailure: string | null = null;
      let failed = 0;
      let u0 = await pollerUsage(fleet);
      const handshakesBefore = u0.sshHandshakes;
      let s0 = await simUsage(fleet);
      // A window in which no poll succeeded is reported and skipped; at most two such windows.
      let skipped = 0;
      for (let run = 0; run < o.runs; run++) {
        const t0 = performance.now();
        await sleep(o.windowSec * 1000);
        const u1 = await pollerUsage(fleet);
        const s1 = await simUsage(fleet);
        const secs = (performance.now() - t0) / 1000;
        const runs = u1.collectorRuns - u0.collectorRuns;
        if (runs === 0 && skipped < 2) {
          skipped++;
          notes.push(`${part}: ${devices} devices: no poll succeeded in one ${o.windowSec} s window (${u1.pollsTotal - u0.pollsTotal} polls, ${u1.pollsFailed - u0.pollsFailed} with failures; latest: ${u1.lastFailure ?? 'none'}); window skipped`);
          o.progress(notes.at(-1)!);
          u0 = u1;
          s0 = s1;
          run--;
          continue;
        }
        if (runs === 0) throw new Error(`no poll succeeded in a ${o.windowSec} s window (${u1.pollsTotal - u0.pollsTotal} polls, ${u1.pollsFailed - u0.pollsFailed} with failures; latest: ${u1.lastFailure ?? 'none'})`);
        const n = runs / COLLECTORS;
        cpu.push((u1.cpuUs - u0.cpuUs) / 1000 / n);
        if (u1.mainThreadCpuUs !== undefined && u0.mainThreadCpuUs !== undefined) helper.push((u1.cpuUs - u0.cpuUs - (u1.mainThreadCpuUs - u0.mainThreadCpuUs)) / 1000 / n);
        perRun.push((u1.cpuUs - u0.cpuUs) / 1000 / runs);
        simCpu.push((s1.cpuUs - s0.cpuUs) / 1000 / n);
        rate.push(n / secs);
        p99.push(quantile(u1.pollMs, 0.99));
        late.push(quantile(u1.lateMs, 0.99));
        rss.push(u1.rss / 2 ** 20);
        polls += u1.pollsTotal - u0.pollsTotal;
        failed += u1.pollsFailed - u0.pollsFailed;
        if (u1.lastFailure) lastFailure = u1.lastFailure;
        o.progress(`${part}: ${devices} devices, window ${run + 1}/${o.runs}: ${round(cpu.at(-1)!)} ms CPU/poll${helper.length === cpu.length ? ` (${round(helper.at(-1)!)} off the JS thread)` : ''}, ${round(rate.at(-1)!)} polls/s, p99 ${round(p99.at(-1)!)} ms, late p99 ${round(late.at(-1)!)} ms, ${round(rss.at(-1)!)} MB`);
        u0 = u1;
        s0 = s1;
      }
      points.push({
        devices,
        intervalSec,
        scheduledPollsPerSec: round(devices / intervalSec),
        cpuMsPerPoll: stat(cpu),
        ...(helper.length === cpu.length ? { helperThreadsCpuMsPerPoll: stat(helper) } : {}),
        warmUpCpuMsPerPoll: round(warmUpCpuMsPerPoll),
        warmUpSec: o.warmUpSec,
        pollsPerSec: stat(rate),
        p99PollMs: stat(p99),
        lateP99Ms: stat(late),
        rssMB: stat(rss),
        cpuMsPerCollectorRun: stat(perRun),
        simulatorCpuMsPerPoll: stat(simCpu),
        onlineSec,
        settleSec,
        failedShare: round(failed / polls),
        handshakesInWindows: u0.sshHandshakes - handshakesBefore,
        ...(lastFailure ? { lastFailure } : {}),
        ...(o.checks ? { checks: await measureChecks(fleet, { runs: o.runs, windowSec: o.windowSec, pollIntervalSec: intervalSec, cpuMsPerCollectorRun: quantile(perRun, 0.5), label: `${devices} devices`, progress: o.progress }) } : {}),
      });
    } finally {
      await fleet.stop();
    }
  }
  return points;
}
