/**
 * One SSH connection per device, shared by every exec the poller sends to it.
 *
 * Lifecycle: the runner starts `idle` and connects lazily on the first exec (`connecting`);
 * execs that arrive meanwhile wait on the same attempt, so N concurrent polls cost one handshake.
 * Once `ready`, execs open one session channel each, at most `maxChannels` at a time (OpenSSH's
 * MaxSessions is 10 per connection; the rest queue here instead of being refused by the server).
 * Poll scripts (`runScript`) go to the `sh` kept open on the connection (ssh-shell.ts), which
 * holds a slot while a script runs and stays open, one more session on the server, in between.
 * When the connection dies (socket end/close/error, keepalive timeout), in-flight execs fail with
 * CLOSED and the runner goes back to `idle`: the next exec reconnects. A failed connection attempt
 * puts the runner in `backoff` until an exponentially growing, jittered, capped delay has passed
 * (so does a connection that dies before any exec completed on it: a host that accepts the
 * handshake and then resets every exec is a failing host, not a flaky one);
 * execs in that window fail at once with the last error's kind (no handshake storm against a host
 * that is down, and the poller's device status stays meaningful: AUTH stays AUTH).
 * An exec that times out has its channel signalled and closed; the connection is kept unless the
 * server does not confirm the close within `channelCloseGraceMs` (wedged), in which case the
 * connection is retired: no new execs go to it and it is ended once its other channels finish.
 * `close()` is final (`closed`).
 */
import { DEFAULT_EXEC_TIMEOUT_MS, DEFAULT_MAX_OUTPUT_BYTES } from './local.ts';
import { createSemaphore, type Semaphore } from '../semaphore.ts';
import type { BackoffOptions } from './backoff.ts';
import { createHostKeyPolicy } from './host-key.ts';
import type { Connection } from './ssh-connection.ts';
import { runOnConnection, type ExecContext } from './ssh-exec.ts';
import { runInShell } from './ssh-shell.ts';
import { ConnectionLifecycle } from './ssh-lifecycle.ts';
import type { CommandRunner, ExecOptions, ExecResult, TransportError } from './types.ts';

export type SshRunnerState = 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed';

export interface SshRunnerOptions {
  host: string;
  port?: number;
  username: string;
  privateKey?: string | Buffer;
  passphrase?: string;
  password?: string;
  /** Pinned host key, `SHA256:<base64 without padding>` as `ssh-keygen -lf` prints it. */
  expectedFingerprint?: string;
  /**
   * Called with the presented fingerprint when nothing is pinned (trust on first use); the caller
   * persists it. From then on this runner pins that key itself: a reconnect never accepts another.
   */
  onHostKey?: (fingerprint: string) => void;
  /** Every state transition, with the error that caused it when there is one. */
  onStateChange?: (state: SshRunnerState, error?: TransportError) => void;
  /** TCP connect + SSH handshake + auth must finish within this (default 10 s). */
  readyTimeoutMs?: number;
  /** Keepalive probe interval (default 15 s; 0 disables) and unanswered probes before the connection is declared dead (default 3). */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Per-exec defaults when ExecOptions leaves them out. */
  execTimeoutMs?: number;
  maxOutputBytes?: number;
  /** Concurrent session channels on the connection (default 4); further execs queue. */
  maxChannels?: number;
  /** Reconnect delays after failed connection attempts. */
  backoff?: Partial<BackoffOptions>;
  /** How long a timed-out channel may take to confirm its close before the connection counts as wedged (default 5 s). */
  channelCloseGraceMs?: number;
  /** Disables TCP_NODELAY when false. Only for measuring its effect; leave it on. */
  noDelay?: boolean;
}

export interface SshRunner extends CommandRunner {
  readonly state: SshRunnerState;
  /** Fingerprint the server presented on the latest handshake (also set when it was refused). */
  readonly hostKeyFingerprint: string | undefined;
  /** The error of the latest failed connection attempt or dead connection; cleared on a successful connect. */
  readonly lastError: TransportError | undefined;
  /** Skip the remaining backoff delay, e.g. after the user fixed credentials or trusted a new key. */
  resetBackoff(): void;
  /** Ends the connection, fails queued and running execs with CLOSED; the runner cannot be reused. */
  close(): Promise<void>;
}

/**
 * The runner composes three pieces: the host-key policy (host-key.ts), the connection state machine
 * (ssh-lifecycle.ts over ssh-connection.ts) and execs on an open connection (ssh-exec.ts); here
 * execs wait for a channel slot, then for a connection.
 */
export function createSshRunner(options: SshRunnerOptions): SshRunner {
  const port = options.port ?? 22;
  const where = `ssh ${options.host}:${port}`;
  const hostKey = createHostKeyPolicy(where, options);
  const lifecycle = new ConnectionLifecycle({ options, port, where, readyTimeoutMs: options.readyTimeoutMs ?? 10_000, hostKey });
  const execContext: ExecContext = {
    where,
    execTimeoutMs: options.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
    maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    graceMs: options.channelCloseGraceMs ?? 5_000,
    owner: lifecycle,
  };
  return new Runner(lifecycle, hostKey, execContext, createSemaphore(Math.max(1, options.maxChannels ?? 4)));
}

/**
 * A class rather than a literal of closures and getters: one lives per polled device for as long
 * as it is polled, and the literal (six closures, a context, accessors that put it in dictionary
 * mode) took ≈ 1 KB of heap per device against ≈ 50 bytes for an instance.
 */
class Runner implements SshRunner {
  private readonly release = (): void => this.slots.release();

  constructor(
    private readonly lifecycle: ConnectionLifecycle,
    private readonly hostKey: ReturnType<typeof createHostKeyPolicy>,
    private readonly execContext: ExecContext,
    private readonly slots: Semaphore,
  ) {}

  get state(): SshRunnerState {
    return this.lifecycle.state;
  }

  get hostKeyFingerprint(): string | undefined {
    return this.hostKey.presented;
  }

  get lastError(): TransportError | undefined {
    return this.lifecycle.lastError;
  }

  resetBackoff(): void {
    this.lifecycle.resetBackoff();
  }

  async exec(command: string, execOptions: ExecOptions = {}): Promise<ExecResult> {
    return runOnConnection(this.execContext, await this.slotAndConnection(), command, execOptions, this.release);
  }

  async runScript(script: string, end: string, execOptions: ExecOptions = {}): Promise<ExecResult> {
    return runInShell(this.execContext, await this.slotAndConnection(), script, end, execOptions, this.release);
  }

  /** A channel slot, then the connection; the slot is given back when either fails. */
  private async slotAndConnection(): Promise<Connection> {
    const { lifecycle, slots } = this;
    if (lifecycle.isClosed()) throw lifecycle.closedError();
    await slots.acquire();
    // close() may have run while this exec waited for a slot.
    if (lifecycle.isClosed()) {
      slots.release();
      throw lifecycle.closedError();
    }
    try {
      return await lifecycle.connection();
    } catch (err) {
      slots.release();
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.lifecycle.isClosed()) return;
    this.lifecycle.markClosed();
    this.slots.failAll(this.lifecycle.closedError());
    await this.lifecycle.endAll();
  }
}
