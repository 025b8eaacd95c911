/** What collectors see of a host: run one constant command, get its output. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when the process was killed by a signal. */
  code: number | null;
}

export interface ExecOptions {
  /** Hard limit for this exec; the channel is closed when it passes. */
  timeoutMs?: number;
  /** Output beyond this many bytes is an error, not a memory problem. */
  maxOutputBytes?: number;
}

export interface CommandRunner {
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /**
   * Runs a script that prints `end` last, on stdout and on stderr, in a shell the runner keeps open
   * between calls (ssh-shell.ts); absent where the transport keeps none, and the caller execs it.
   */
  runScript?(script: string, end: string, options?: ExecOptions): Promise<ExecResult>;
  /** Ends the connection (if any); the runner is not used again. Collectors never call it. */
  close(): Promise<void>;
}

export type TransportErrorKind =
  | 'CONNECT' // refused, unreachable, DNS, handshake timeout
  | 'AUTH' // credentials rejected
  | 'HOST_KEY' // presented key differs from the pinned one
  | 'TIMEOUT' // an exec ran past its timeout
  | 'CLOSED' // connection died mid-exec
  | 'OUTPUT_LIMIT'; // an exec printed more than maxOutputBytes

/** Thrown by transports; anything else thrown from a runner is a bug. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    /** `code`: the socket's errno name (ECONNREFUSED, ENOTFOUND…) or HANDSHAKE_TIMEOUT when a connect failed. */
    readonly details: { fingerprint?: string; expected?: string; code?: string } = {},
  ) {
    super(message);
  }
}
