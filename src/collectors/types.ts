import type { CommandRunner } from '../transport/types.ts';
import type { SampleBatch } from '../storage/types.ts';

/** The registry's keys (src/collectors/index.ts derives COLLECTOR_NAMES from it). */
export type CollectorName = 'system' | 'drives' | 'containers' | 'storage' | 'sensors' | 'gpu';

export interface CollectorOptions {
  /** Run smartctl through `sudo -n` (the device's setting). */
  sudoSmartctl: boolean;
  /** Filesystem types left out of `filesystems` (pseudo and overlay filesystems). */
  excludedFsTypes: readonly string[];
  /** Interface name patterns left out of a device's network totals (they still get rows). */
  virtualInterfacePatterns: readonly RegExp[];
}

export interface CollectContext<State> {
  deviceId: string;
  /** The poll's timestamp; rows carry it. */
  time: Date;
  runner: CommandRunner;
  options: CollectorOptions;
  /** What the previous poll of this collector on this device left (counters for rates). */
  state: State | undefined;
  /** Per-exec timeout. */
  timeoutMs: number;
}

export interface CollectResult<State> {
  batch: SampleBatch;
  state: State;
  /**
   * Partial problems that did not stop the collector (one drive unreadable, docker stats
   * failed while ps worked), for lastError and logs. An empty list means a clean poll.
   */
  problems: string[];
  /** Lines the parsers did not recognise and left out; logged at debug level, not a problem. */
  skipped?: SkippedLine[];
}

/**
 * One collector family. `collect` throws TransportError when the host is unreachable and
 * CollectorError when this family cannot run on the host at all (docker absent, smartctl
 * missing, permission denied); the poller keeps the device's other collectors going.
 */
export interface Collector<State = unknown> {
  name: CollectorName;
  /** What it reads, for people (API enum descriptions, dashboard). */
  description: string;
  collect(ctx: CollectContext<State>): Promise<CollectResult<State>>;
}

export type CollectorErrorReason =
  | 'NOT_INSTALLED'
  | 'PERMISSION_DENIED'
  | 'DAEMON_DOWN'
  | 'NO_DEVICES'
  | 'BAD_OUTPUT'
  | 'COMMAND_FAILED';

/**
 * Reasons that say "this host does not offer it" (tool missing, daemon not running, permission
 * denied, nothing to read) rather than "it broke": a collector that never worked with one of
 * these is UNAVAILABLE, not FAILING (poller/collector-state.ts).
 */
export const UNAVAILABLE_REASONS: ReadonlySet<CollectorErrorReason> = new Set(['NOT_INSTALLED', 'PERMISSION_DENIED', 'DAEMON_DOWN', 'NO_DEVICES']);

export class CollectorError extends Error {
  override readonly name = 'CollectorError';
  constructor(
    readonly reason: CollectorErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A line a parser did not recognise and left out. Hosts print extra lines (old kernels,
 * embedded devices, tool warnings mixed into stdout); one of them must not fail a poll, so
 * parsers return these and the poller logs them at debug level.
 */
export interface SkippedLine {
  /** 1-based, within the text the parser was given (within its section for sectioned output). */
  line: number;
  /** The line, cut to 200 characters. */
  text: string;
  /** What the parser expected there. */
  reason: string;
  /** The section of a multi-command output the line came from. */
  section?: string;
}

/** A parser met input it cannot read; `line` is 1-based, 0 when not tied to a line. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}
