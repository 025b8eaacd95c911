/** The poller's timing and size knobs, with the defaults a server runs with (tests shorten them). */
import path from 'node:path';
import type { BackoffOptions } from '../transport/backoff.ts';
import { DEFAULT_EXEC_TIMEOUT_MS } from '../transport/local.ts';
import { DEFAULT_OFFLINE_AFTER } from './status.ts';

export interface PollerTuning {
  /** Per-exec limit for every collector command (default 30 s). */
  execTimeoutMs: number;
  /** SSH connect + handshake + auth limit (default 10 s). */
  sshReadyTimeoutMs: number;
  /** SSH reconnect delays (default: the transport's, 1 s doubling to 60 s). */
  sshBackoff: Partial<BackoffOptions>;
  /** Consecutive unreachable polls before OFFLINE (default 3). */
  offlineAfter: number;
  /** Samples and status rows are written at most this long after a poll (default 250 ms). */
  flushMs: number;
  flushRows: number;
  /** lastSeenAt is rewritten at most this often when nothing else about the device changed (default 30 s). */
  lastSeenEveryMs: number;
  /** Rows kept in memory during a database outage that the spool has not taken (yet) before new ones are dropped. */
  memoryRows: number;
  /** During an outage, samples reach the fsynced spool within this (group commit). */
  spoolCommitMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  /** Database retry delays during an outage. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Re-probe delays for unreachable devices. */
  probeBaseMs: number;
  probeMaxMs: number;
}

export function resolveTuning(dataDir: string, over: Partial<PollerTuning> | undefined): PollerTuning {
  return {
    execTimeoutMs: DEFAULT_EXEC_TIMEOUT_MS,
    sshReadyTimeoutMs: 10_000,
    sshBackoff: {},
    offlineAfter: DEFAULT_OFFLINE_AFTER,
    flushMs: 250,
    flushRows: 1000,
    lastSeenEveryMs: 30_000,
    memoryRows: 50_000,
    spoolCommitMs: 500,
    spoolDir: path.join(dataDir, 'spool'),
    spoolMaxBytes: 1024 * 1024 * 1024,
    retryBaseMs: 1000,
    retryMaxMs: 30_000,
    probeBaseMs: 5_000,
    probeMaxMs: 120_000,
    ...over,
  };
}
