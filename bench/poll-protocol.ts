/** Messages between the poll/memory orchestrator and the simulator and poller child processes. */
export type FromSim = { type: 'ready'; host: string; port: number; fingerprint: string; usernames: string[] } | { type: 'usage'; cpuUs: number; execs: number } | { type: 'error'; message: string };
export type ToSim = { type: 'usage' };

export interface PollerStart {
  databaseUrl: string;
  dataDir: string;
  sim: { host: string; port: number; fingerprint: string; usernames: string[] };
  intervalSec: number;
  maxConcurrent: number;
  /** Also serve the API (buildServer) over the same event bus, as the app does: the memory part. */
  withServer: boolean;
}

export interface PollerUsage {
  type: 'usage';
  cpuUs: number;
  /**
   * CPU time of the thread JavaScript runs on (Linux: /proc/thread-self/schedstat), µs; the rest
   * of cpuUs is V8's helper threads (concurrent marking, sweeping, parallel scavenges, JIT
   * compiles) and libuv's pool. Absent where the kernel does not say.
   */
  mainThreadCpuUs?: number;
  rss: number;
  /** SSH handshakes since start (PollerStats.sshHandshakes). */
  sshHandshakes: number;
  pollsTotal: number;
  pollsFailed: number;
  /** Sample rows waiting for the writer (WriterStats.queuedRows): grows when the process cannot keep up. */
  writerQueuedRows: number;
  skippedOverlaps: number;
  /** Scheduled collector slots started since start, and those more than 1 s late. */
  slotsStarted: number;
  slotsLate: number;
  /** Lateness (ms after the slot) of every scheduled collector poll started since the previous usage message. */
  lateMs: number[];
  /** Polls waiting for a concurrency slot (polls_waiting), sampled every 100 ms since the previous usage message. */
  waitingMax: number;
  waitingMean: number;
  /** Event-loop delay since the previous usage message (perf_hooks histogram), ms. */
  loopDelayP99Ms: number;
  online: number;
  /** Durations (ms) of the polls that finished since the previous usage message. */
  pollMs: number[];
  /** Durations (ms) of each collector's run (exec round trip and parse: the time a poll holds its slot), same period. */
  collectMs: number[];
  /** Collector runs in successful polls since start (a poll runs the collectors that are due: here all three, one phase per device). */
  collectorRuns: number;
  /** The latest "poll had failures" record, for diagnosis. */
  lastFailure: string | null;
  subscriptions: number;
  /** Check runs ended since start (the check runner's own count: the command was sent). */
  checkRuns: number;
}

/** The checks the poll part adds halfway (bench/poll.ts), one run of each per device every intervalSec. */
export interface ChecksAdded {
  type: 'checks-added';
  checks: number;
  intervalSec: number;
}
/** Stored results of the bench's checks by status, after the windows. */
export interface CheckStatusCounts {
  type: 'check-statuses';
  statuses: Record<string, number>;
}

export type ToPoller = { type: 'usage'; gc?: boolean } | { type: 'stop' } | { type: 'add-checks'; intervalSec: number } | { type: 'check-statuses' };
export type FromPoller = { type: 'ready'; devices: number; port: number | null; token: string | null } | PollerUsage | ChecksAdded | CheckStatusCounts | { type: 'error'; message: string };
