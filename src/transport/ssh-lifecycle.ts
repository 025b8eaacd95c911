/**
 * The runner's state machine over its connections (idle → connecting → ready, backoff, closed):
 * one current connection shared by every exec, reconnect on the next exec after it died, a
 * jittered exponential backoff after failed attempts, retirement of wedged connections, and the
 * final close. ssh.ts describes the states; ssh-connection.ts makes each connection.
 */
import { backoffDelay } from './backoff.ts';
import type { ExecOwner } from './ssh-exec.ts';
import { endConnection, openConnection, peerAnswered, type ConnectTarget, type Connection } from './ssh-connection.ts';
import type { SshRunnerState } from './ssh.ts';
import { TransportError } from './types.ts';

export class ConnectionLifecycle implements ExecOwner {
  private currentState: SshRunnerState = 'idle';
  private current: Connection | undefined;
  private latestError: TransportError | undefined;
  private failures = 0;
  private nextAttemptAt = 0;
  private readonly all = new Set<Connection>();

  constructor(private readonly target: ConnectTarget) {}

  get state(): SshRunnerState {
    return this.currentState;
  }

  get lastError(): TransportError | undefined {
    return this.latestError;
  }

  closedError(): TransportError {
    return new TransportError('CLOSED', `${this.target.where}: runner was closed`);
  }

  // A function, not an inline comparison, because TypeScript's narrowing does not know awaits can change `state`.
  isClosed(): boolean {
    return this.currentState === 'closed';
  }

  private setState(next: SshRunnerState, error?: TransportError): void {
    if (this.currentState === next || this.currentState === 'closed') return;
    this.currentState = next;
    try {
      this.target.options.onStateChange?.(next, error);
    } catch {
      // A listener's bug must not break the connection machinery.
    }
  }

  private enterBackoff(error: TransportError): void {
    this.failures++;
    this.nextAttemptAt = Date.now() + backoffDelay(this.failures, this.target.options.backoff);
    this.setState('backoff', error);
  }

  private open(): Connection {
    const conn = openConnection(this.target, {
      forget: (c) => this.all.delete(c),
      lost: (c, error) => this.kill(c, error),
    });
    if (!conn.dead) this.all.add(conn);
    return conn;
  }

  /** The current connection, or a new one; while backing off, the last error at once (no handshake storm). */
  async connection(): Promise<Connection> {
    if (this.current && !this.current.dead && !this.current.retired) {
      await this.current.ready;
      return this.current;
    }
    if (this.currentState === 'backoff' && Date.now() < this.nextAttemptAt && this.latestError) {
      const waitMs = this.nextAttemptAt - Date.now();
      throw new TransportError(
        this.latestError.kind,
        `${this.latestError.message} (next connection attempt in ${Math.ceil(waitMs / 1000)} s)`,
        this.latestError.details,
      );
    }
    const conn = this.open();
    this.current = conn;
    this.setState('connecting');
    try {
      await conn.ready;
    } catch (err) {
      if (this.current === conn) this.current = undefined;
      if (this.isClosed()) throw this.closedError();
      const error = err instanceof TransportError ? err : new TransportError('CONNECT', `${this.target.where}: ${String(err)}`);
      this.latestError = error;
      this.enterBackoff(error);
      throw error;
    }
    // `failures` is reset by the first exec that completes here, not by the handshake alone.
    this.latestError = undefined;
    if (this.isClosed()) {
      conn.client.end();
      throw this.closedError();
    }
    this.setState('ready');
    return conn;
  }

  kill(conn: Connection, error: TransportError): void {
    if (conn.dead) return;
    conn.dead = true;
    this.all.delete(conn);
    for (const fail of [...conn.onDeath]) fail(error);
    conn.onDeath.clear();
    conn.client.destroy();
    if (this.current === conn) {
      this.current = undefined;
      if (conn.isReady) {
        this.latestError = error;
        // A connection that dies before any exec completed on it counts as a failed attempt: a host
        // that accepts connections and then resets every exec must not get a handshake per poll.
        if (conn.proven) this.setState('idle', error);
        else this.enterBackoff(error);
      }
    }
  }

  retire(conn: Connection): void {
    conn.retired = true;
    if (this.current === conn) {
      this.current = undefined;
      this.setState('idle');
    }
    this.endIfRetired(conn);
  }

  endIfRetired(conn: Connection): void {
    if (conn.retired && conn.active === 0) this.kill(conn, new TransportError('CLOSED', `${this.target.where}: connection retired`));
  }

  proven(conn: Connection): void {
    conn.proven = true;
    this.failures = 0;
    peerAnswered(conn);
  }

  resetBackoff(): void {
    this.nextAttemptAt = 0;
    this.failures = 0;
    if (this.currentState === 'backoff') this.setState('idle');
  }

  /** Final: later execs fail with CLOSED. The caller fails its queued execs, then calls endAll(). */
  markClosed(): void {
    this.setState('closed');
  }

  /**
   * Ends every connection, retired ones included, failing what still runs on them with CLOSED.
   * Not async on purpose: close() awaits this Promise.all itself, so it resolves on the same tick as
   * when it was one function; one more tick made the poller's status chain flake (monitoring-switch test).
   */
  endAll(): Promise<unknown> {
    this.current = undefined;
    return Promise.all([...this.all].map((conn) => endConnection(conn, () => this.kill(conn, this.closedError()))));
  }
}
