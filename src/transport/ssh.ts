/**
 * One SSH connection per device, shared by every exec the poller sends to it.
 *
 * Lifecycle: the runner starts `idle` and connects lazily on the first exec (`connecting`);
 * execs that arrive meanwhile wait on the same attempt, so N concurrent polls cost one handshake.
 * Once `ready`, execs open one session channel each, at most `maxChannels` at a time (OpenSSH's
 * MaxSessions is 10 per connection; the rest queue here instead of being refused by the server).
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
import { createHash } from 'node:crypto';
import net from 'node:net';
import ssh2 from 'ssh2';
import type { Algorithms, ClientChannel, ConnectConfig } from 'ssh2';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { DEFAULT_EXEC_TIMEOUT_MS, DEFAULT_MAX_OUTPUT_BYTES } from './local.ts';
import type { CommandRunner, ExecOptions, ExecResult } from './types.ts';
import { TransportError } from './types.ts';

const { Client } = ssh2;

/** Channel opens refused by the server are retried this many times (5, 10, 20, … ms apart). */
const OPEN_RETRIES = 5;
type SshClient = InstanceType<typeof Client>;

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

/** Only algorithms that are fast in ssh2 (native crypto) and current: no DH group exchange (seconds in pure JS), no SHA-1, no CBC. */
export const SSH_ALGORITHMS: Algorithms = {
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521'],
  serverHostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
  ],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compress: ['none'],
};

/** OpenSSH's `SHA256:` + 43 unpadded base64 characters, as `ssh-keygen -lf` prints it. */
export const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** OpenSSH's fingerprint format for a raw public key blob: `SHA256:` + unpadded base64 of its SHA-256. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

interface Connection {
  client: SshClient;
  ready: Promise<void>;
  isReady: boolean;
  dead: boolean;
  /** No new execs; ended once `active` reaches 0. */
  retired: boolean;
  active: number;
  /** An exec completed on it: the host works, not just its handshake. */
  proven: boolean;
  /** Fails the execs running on this connection when it dies. */
  onDeath: Set<(error: TransportError) => void>;
}

/** A FIFO counting semaphore; waiters can be failed all at once when the runner closes. */
function createSlots(limit: number) {
  let free = limit;
  const waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  return {
    acquire(): Promise<void> {
      if (free > 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    release(): void {
      const next = waiters.shift();
      if (next) next.resolve();
      else free++;
    },
    failAll(error: Error): void {
      for (const w of waiters.splice(0)) w.reject(error);
    },
  };
}

interface ErrnoLike {
  code?: unknown;
  level?: unknown;
  message: string;
}

const SOCKET_ERROR_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'connection closed by peer',
};

export function createSshRunner(options: SshRunnerOptions): SshRunner {
  const host = options.host;
  const port = options.port ?? 22;
  const where = `ssh ${host}:${port}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const execTimeoutMs = options.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const maxOutputBytesDefault = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const graceMs = options.channelCloseGraceMs ?? 5_000;
  const slots = createSlots(Math.max(1, options.maxChannels ?? 4));

  let state: SshRunnerState = 'idle';
  let current: Connection | undefined;
  let lastError: TransportError | undefined;
  let hostKeyFingerprint: string | undefined;
  let pinned = options.expectedFingerprint || undefined;
  let failures = 0;
  let nextAttemptAt = 0;
  const allConnections = new Set<Connection>();

  const closedError = (): TransportError => new TransportError('CLOSED', `${where}: runner was closed`);

  // A function, not an inline comparison, because TypeScript's narrowing does not know awaits can change `state`.
  const isClosed = (): boolean => state === 'closed';

  const setState = (next: SshRunnerState, error?: TransportError): void => {
    if (state === next || state === 'closed') return;
    state = next;
    try {
      options.onStateChange?.(next, error);
    } catch {
      // A listener's bug must not break the connection machinery.
    }
  };

  /** Maps whatever ssh2 or the socket reported during connect to one of the transport kinds. */
  const connectError = (err: ErrnoLike | undefined, hostKeyRefusal: TransportError | undefined): TransportError => {
    if (hostKeyRefusal) return hostKeyRefusal;
    if (!err) return new TransportError('CONNECT', `${where}: connection closed during the SSH handshake`);
    if (err.level === 'client-authentication') {
      return new TransportError(
        'AUTH',
        `${where}: authentication failed for user "${options.username}" (all configured methods were rejected)`,
      );
    }
    if (err.level === 'client-timeout') {
      return new TransportError('CONNECT', `${where}: SSH handshake did not complete within ${readyTimeoutMs} ms`, { code: 'HANDSHAKE_TIMEOUT' });
    }
    if (typeof err.code === 'string' && err.code in SOCKET_ERROR_TEXT) {
      return new TransportError('CONNECT', `${where}: ${SOCKET_ERROR_TEXT[err.code]} (${err.code})`, { code: err.code });
    }
    if (typeof err.code === 'string') {
      return new TransportError('CONNECT', `${where}: ${err.code}: ${err.message}`, { code: err.code });
    }
    return new TransportError('CONNECT', `${where}: SSH handshake failed: ${err.message}`);
  };

  const connectConfig = (
    sock: net.Socket,
    onHostKeyRefused: (e: TransportError) => void,
  ): ConnectConfig => ({
    sock,
    host,
    port,
    username: options.username,
    privateKey: options.privateKey,
    passphrase: options.passphrase,
    password: options.password,
    // ssh2 would try keyboard-interactive / agent otherwise; we only offer what we were given.
    tryKeyboard: false,
    readyTimeout: readyTimeoutMs,
    keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    algorithms: SSH_ALGORITHMS,
    // Without hostVerifier ssh2 accepts any key; it is set unconditionally so every handshake is either pinned or recorded.
    hostVerifier: (key: Buffer): boolean => {
      const fingerprint = sshFingerprint(key);
      hostKeyFingerprint = fingerprint;
      const expected = pinned;
      if (expected !== undefined) {
        if (fingerprint !== expected) {
          onHostKeyRefused(
            new TransportError(
              'HOST_KEY',
              `${where}: host key ${fingerprint} does not match the pinned ${expected}; refusing to connect`,
              { fingerprint, expected },
            ),
          );
          return false;
        }
        return true;
      }
      pinned = fingerprint;
      try {
        options.onHostKey?.(fingerprint);
      } catch {
        // Recording is the caller's business; a failure there must not abort the handshake.
      }
      return true;
    },
  });

  const killConnection = (conn: Connection, error: TransportError): void => {
    if (conn.dead) return;
    conn.dead = true;
    allConnections.delete(conn);
    for (const fail of [...conn.onDeath]) fail(error);
    conn.onDeath.clear();
    conn.client.destroy();
    if (current === conn) {
      current = undefined;
      if (conn.isReady) {
        lastError = error;
        // A connection that dies before any exec completed on it counts as a failed attempt: a host
        // that accepts connections and then resets every exec must not get a handshake per poll.
        if (conn.proven) setState('idle', error);
        else enterBackoff(error);
      }
    }
  };

  function enterBackoff(error: TransportError): void {
    failures++;
    nextAttemptAt = Date.now() + backoffDelay(failures, options.backoff);
    setState('backoff', error);
  }

  const retire = (conn: Connection): void => {
    conn.retired = true;
    if (current === conn) {
      current = undefined;
      setState('idle');
    }
    if (conn.active === 0) killConnection(conn, new TransportError('CLOSED', `${where}: connection retired`));
  };

  const openConnection = (): Connection => {
    const sock = new net.Socket();
    // Nagle + delayed ACK cost ≈ 50 ms per exec round trip; SSH packets are small and latency-bound.
    sock.setNoDelay(options.noDelay ?? true);
    const client = new Client();
    let firstError: ErrnoLike | undefined;
    let hostKeyRefusal: TransportError | undefined;

    const conn: Connection = {
      client,
      ready: Promise.resolve(),
      isReady: false,
      dead: false,
      retired: false,
      active: 0,
      proven: false,
      onDeath: new Set(),
    };

    conn.ready = new Promise<void>((resolve, reject) => {
      // ssh2 may emit several errors for one failure; the first one says why.
      client.on('error', (err: ErrnoLike) => {
        firstError ??= err;
      });
      client.once('ready', () => {
        conn.isReady = true;
        resolve();
      });
      client.on('close', () => {
        if (!conn.isReady) {
          conn.dead = true;
          allConnections.delete(conn);
          reject(connectError(firstError, hostKeyRefusal));
          return;
        }
        const reason =
          firstError === undefined
            ? 'connection closed by the server'
            : firstError.level === 'client-timeout'
              ? 'connection lost (keepalive timeout)'
              : `connection lost: ${typeof firstError.code === 'string' ? firstError.code : firstError.message}`;
        killConnection(conn, new TransportError('CLOSED', `${where}: ${reason}`));
      });
      try {
        client.connect(connectConfig(sock, (e) => (hostKeyRefusal = e)));
      } catch (err) {
        // Synchronous throws are configuration problems, in practice an unparsable or still-encrypted private key.
        sock.destroy();
        conn.dead = true;
        const message = err instanceof Error ? err.message : String(err);
        reject(new TransportError('AUTH', `${where}: unusable credentials: ${message}`));
        return;
      }
      // Connecting the socket ourselves is what lets setNoDelay apply; ssh2 listens for its 'connect'.
      sock.connect({ host, port });
    });
    if (!conn.dead) allConnections.add(conn);
    return conn;
  };

  const getConnection = async (): Promise<Connection> => {
    if (current && !current.dead && !current.retired) {
      await current.ready;
      return current;
    }
    if (state === 'backoff' && Date.now() < nextAttemptAt && lastError) {
      const waitMs = nextAttemptAt - Date.now();
      throw new TransportError(
        lastError.kind,
        `${lastError.message} (next connection attempt in ${Math.ceil(waitMs / 1000)} s)`,
        lastError.details,
      );
    }
    const conn = openConnection();
    current = conn;
    setState('connecting');
    try {
      await conn.ready;
    } catch (err) {
      if (current === conn) current = undefined;
      if (isClosed()) throw closedError();
      const error = err instanceof TransportError ? err : new TransportError('CONNECT', `${where}: ${String(err)}`);
      lastError = error;
      enterBackoff(error);
      throw error;
    }
    // `failures` is reset by the first exec that completes here, not by the handshake alone.
    lastError = undefined;
    if (isClosed()) {
      conn.client.end();
      throw closedError();
    }
    setState('ready');
    return conn;
  };

  const runOnConnection = (
    conn: Connection,
    command: string,
    execOptions: ExecOptions,
    release: () => void,
  ): Promise<ExecResult> => {
    const timeoutMs = execOptions.timeoutMs ?? execTimeoutMs;
    const maxOutputBytes = execOptions.maxOutputBytes ?? maxOutputBytesDefault;
    conn.active++;
    let slotHeld = true;
    const finishChannel = (): void => {
      if (!slotHeld) return;
      slotHeld = false;
      conn.active--;
      release();
      if (conn.retired && conn.active === 0) killConnection(conn, new TransportError('CLOSED', `${where}: connection retired`));
    };

    return new Promise<ExecResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let bytes = 0;
      let code: number | null = null;
      let settled = false;
      let channel: ClientChannel | undefined;
      let graceTimer: NodeJS.Timeout | undefined;

      const settle = (error: TransportError | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.onDeath.delete(onDeath);
        if (error) reject(error);
        else
          resolve({
            stdout: Buffer.concat(stdout).toString('utf8'),
            stderr: Buffer.concat(stderr).toString('utf8'),
            code,
          });
      };
      /** Stops a channel we no longer want; the slot stays taken until the server confirms, since it still counts the session. */
      const abandon = (error: TransportError): void => {
        settle(error);
        if (!channel) return;
        try {
          // OpenSSH kills the session's process group on a signal request; without it, close waits for the command to exit.
          channel.signal('KILL');
          channel.close();
        } catch {
          // The connection is already gone; onDeath cleans up.
        }
        graceTimer = setTimeout(() => {
          if (!slotHeld) return;
          finishChannel();
          retire(conn);
        }, graceMs);
        graceTimer.unref();
      };
      const onDeath = (error: TransportError): void => {
        clearTimeout(graceTimer);
        settle(error);
        finishChannel();
      };
      conn.onDeath.add(onDeath);

      const timer = setTimeout(() => {
        abandon(new TransportError('TIMEOUT', `${where}: command timed out after ${timeoutMs} ms`));
      }, timeoutMs);

      const open = (attempt: number): void => {
        try {
          conn.client.exec(command, (err, stream) => {
            if (err) {
              // OpenSSH frees a session only after it has seen our reply to its channel close, so an open sent right
              // behind that reply can be refused for MaxSessions; it succeeds a moment later.
              const refusedByServer = 'reason' in err && typeof err.reason === 'number';
              if (refusedByServer && attempt < OPEN_RETRIES && !settled && !conn.dead) {
                setTimeout(() => open(attempt + 1), 5 * 2 ** attempt);
                return;
              }
              // Either the connection died while opening (onDeath already ran) or the server kept refusing the channel.
              settle(new TransportError('CLOSED', `${where}: could not open a session channel: ${err.message}`));
              finishChannel();
              return;
            }
            channel = stream;
            if (settled) {
              // Timed out while the channel was opening.
              abandon(new TransportError('TIMEOUT', `${where}: command timed out after ${timeoutMs} ms`));
            }
            const collect = (into: Buffer[]) => (chunk: Buffer) => {
              if (settled) return;
              bytes += chunk.length;
              if (bytes > maxOutputBytes) {
                abandon(new TransportError('OUTPUT_LIMIT', `${where}: command printed more than ${maxOutputBytes} bytes`));
                return;
              }
              into.push(chunk);
            };
            stream.on('data', collect(stdout));
            stream.stderr.on('data', collect(stderr));
            stream.on('exit', (exitCode: number | null) => {
              code = typeof exitCode === 'number' ? exitCode : null;
            });
            stream.on('error', () => {
              // Channel-level errors end in 'close' or connection death; both are handled there.
            });
            stream.on('close', () => {
              clearTimeout(graceTimer);
              if (!settled && !conn.dead) {
                conn.proven = true;
                failures = 0;
              }
              settle(undefined);
              finishChannel();
            });
          });
        } catch (err) {
          // ssh2 throws synchronously when the socket is no longer writable.
          const message = err instanceof Error ? err.message : String(err);
          settle(new TransportError('CLOSED', `${where}: connection lost: ${message}`));
          finishChannel();
          killConnection(conn, new TransportError('CLOSED', `${where}: connection lost: ${message}`));
        }
      };
      open(0);
    });
  };

  return {
    get state() {
      return state;
    },
    get hostKeyFingerprint() {
      return hostKeyFingerprint;
    },
    get lastError() {
      return lastError;
    },
    resetBackoff() {
      nextAttemptAt = 0;
      failures = 0;
      if (state === 'backoff') setState('idle');
    },
    async exec(command: string, execOptions: ExecOptions = {}): Promise<ExecResult> {
      if (isClosed()) throw closedError();
      await slots.acquire();
      // close() may have run while this exec waited for a slot.
      if (isClosed()) {
        slots.release();
        throw closedError();
      }
      let conn: Connection;
      try {
        conn = await getConnection();
      } catch (err) {
        slots.release();
        throw err;
      }
      return runOnConnection(conn, command, execOptions, slots.release);
    },
    async close() {
      if (state === 'closed') return;
      setState('closed');
      slots.failAll(closedError());
      current = undefined;
      await Promise.all(
        [...allConnections].map(
          (conn) =>
            new Promise<void>((resolve) => {
              if (conn.dead) return resolve();
              const done = (): void => {
                clearTimeout(force);
                killConnection(conn, closedError());
                resolve();
              };
              // A polite disconnect first; a server that does not answer must not hold up shutdown.
              const force = setTimeout(done, 1_000);
              force.unref();
              conn.client.once('close', done);
              conn.client.end();
            }),
        ),
      );
    },
  };
}
