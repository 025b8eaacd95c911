/** Messages between the fan-out orchestrator and its child processes (server under test, load clients). */
export type ServerMode = 'graphql' | 'ws';

export interface ServerStart {
  mode: ServerMode;
  /** The migrated benchmark database (auth tokens live there). */
  databaseUrl: string;
}

export type ToServer =
  | { type: 'usage'; gc?: boolean }
  | { type: 'publish'; count: number }
  | { type: 'rate'; perSec: number; durationMs: number }
  | { type: 'stop' };

export type FromServer =
  | { type: 'ready'; port: number; token: string }
  | { type: 'usage'; cpuUs: number; rss: number; subscriptions: number }
  | { type: 'published'; count: number }
  | { type: 'error'; message: string };

export interface ClientsStart {
  url: string;
  token: string;
  connections: number;
  query: string;
  /** Connect only this many first, the rest on `more` (RSS is measured between the two). */
  firstWave?: number;
  /**
   * Each subscriber names its operation apart (`Live0`, `Live1`, …; `query` must begin
   * `subscription Live`): on the shipped server each is then a group of its own, executed once
   * per event, as when every dashboard subscribes with variables of its own.
   */
  distinct?: boolean;
}

export type ToClients =
  | { type: 'more' }
  | { type: 'mode'; mode: 'count' | 'latency' }
  | { type: 'latencies' }
  | { type: 'reset' }
  /** Opens one more subscriber and stops reading its socket (a stalled consumer); `unstall` closes it. */
  | { type: 'stall' }
  | { type: 'unstall' }
  | { type: 'stop' };

export type FromClients =
  | { type: 'connected'; connections: number; failed: number; firstError?: string }
  /** Messages received since the last reset; sent when every subscriber got one more, else within 50 ms of a change. */
  | { type: 'count'; received: number }
  | { type: 'latencies'; ms: number[] }
  | { type: 'closed'; closed: number }
  | { type: 'stalled' }
  | { type: 'error'; message: string };

/** The subscription every client holds: the DESIGN's SystemMetrics fields, every device. */
export const FANOUT_QUERY = `subscription Live {
  metricCollected {
    time deviceId cpuPercent memUsedPercent memTotalBytes memAvailableBytes load1 load5 load15
    uptimeSeconds netRxBytesPerSec netTxBytesPerSec diskReadBytesPerSec diskWriteBytesPerSec
  }
}`;

/**
 * The publish instant travels inside the sample (uptimeSeconds carries epoch milliseconds with
 * a fractional part) so a client on the same machine computes latency from one shared clock.
 */
export const nowMs = (): number => performance.timeOrigin + performance.now();
