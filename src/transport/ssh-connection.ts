/**
 * One ssh2 connection: TCP connect (with TCP_NODELAY), handshake, authentication and keepalive,
 * the error kinds a failed attempt maps to, and how a ready connection reports its death.
 * Which connection the runner uses, and when it reconnects, is ssh-lifecycle.ts's business.
 */
import net from 'node:net';
import ssh2 from 'ssh2';
import type { Algorithms, ConnectConfig } from 'ssh2';
import type { HostKeyPolicy } from './host-key.ts';
import type { KeptShell } from './ssh-shell.ts';
import type { SshRunnerOptions } from './ssh.ts';
import { TransportError } from './types.ts';

const { Client } = ssh2;
type SshClient = InstanceType<typeof Client>;

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

export interface Connection {
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
  /** The shell kept open for poll scripts (ssh-shell.ts), once one was asked for. */
  shell: KeptShell | undefined;
  /** The peer did not answer the shell's probe: poll scripts go out as execs. */
  shellRefused: boolean;
}

/** Where and how the runner connects: its options with the defaults that error messages name. */
export interface ConnectTarget {
  options: SshRunnerOptions;
  port: number;
  /** `ssh host:port`, the prefix of every error message. */
  where: string;
  readyTimeoutMs: number;
  hostKey: HostKeyPolicy;
}

export interface ConnectionHooks {
  /** It closed before it was ready: `ready` rejects with the reason; the connection only needs forgetting. */
  forget(conn: Connection): void;
  /** A ready connection died (socket end/close/error, keepalive timeout). */
  lost(conn: Connection, error: TransportError): void;
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

/** Maps whatever ssh2 or the socket reported during connect to one of the transport kinds. */
function connectError(target: ConnectTarget, err: ErrnoLike | undefined, hostKeyRefusal: TransportError | undefined): TransportError {
  const { where } = target;
  if (hostKeyRefusal) return hostKeyRefusal;
  if (!err) return new TransportError('CONNECT', `${where}: connection closed during the SSH handshake`);
  if (err.level === 'client-authentication') {
    return new TransportError(
      'AUTH',
      `${where}: authentication failed for user "${target.options.username}" (all configured methods were rejected)`,
    );
  }
  if (err.level === 'client-timeout') {
    return new TransportError('CONNECT', `${where}: SSH handshake did not complete within ${target.readyTimeoutMs} ms`, { code: 'HANDSHAKE_TIMEOUT' });
  }
  if (typeof err.code === 'string' && err.code in SOCKET_ERROR_TEXT) {
    return new TransportError('CONNECT', `${where}: ${SOCKET_ERROR_TEXT[err.code]} (${err.code})`, { code: err.code });
  }
  if (typeof err.code === 'string') {
    return new TransportError('CONNECT', `${where}: ${err.code}: ${err.message}`, { code: err.code });
  }
  return new TransportError('CONNECT', `${where}: SSH handshake failed: ${err.message}`);
}

/** Why a ready connection closed, from the first error ssh2 reported on it (none: the server ended it). */
function lostReason(firstError: ErrnoLike | undefined): string {
  if (firstError === undefined) return 'connection closed by the server';
  if (firstError.level === 'client-timeout') return 'connection lost (keepalive timeout)';
  return `connection lost: ${typeof firstError.code === 'string' ? firstError.code : firstError.message}`;
}

function connectConfig(target: ConnectTarget, sock: net.Socket, onHostKeyRefused: (e: TransportError) => void): ConnectConfig {
  const { options } = target;
  return {
    sock,
    host: options.host,
    port: target.port,
    username: options.username,
    privateKey: options.privateKey,
    passphrase: options.passphrase,
    password: options.password,
    // ssh2 would try keyboard-interactive / agent otherwise; we only offer what we were given.
    tryKeyboard: false,
    readyTimeout: target.readyTimeoutMs,
    keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    algorithms: SSH_ALGORITHMS,
    // Without hostVerifier ssh2 accepts any key; it is set unconditionally so every handshake is either pinned or recorded.
    hostVerifier: (key: Buffer): boolean => {
      const refusal = target.hostKey.check(key);
      if (refusal === undefined) return true;
      onHostKeyRefused(refusal);
      return false;
    },
  };
}

/**
 * ssh2 pings every keepaliveInterval whatever else the connection carries, and re-arms its timer
 * only on a reply to a channel request (client.js, CHANNEL_SUCCESS), which the kept shell no
 * longer makes: at 1,000 devices that was 67 pings a second on connections polled every 10 s,
 * each one a packet to encrypt and send and a reply to read, about 2 % of the poller's CPU
 * (docs/benchmarks.md, "Pings on busy connections, and two copies a poll"). A command that
 * completed proves the peer answers as well as a ping reply does, so it re-arms the timer the
 * same way: a connection polled more often than its keepalive interval sends none, and a wedged
 * or idle one is pinged and given up on as before. `_resetKA` is ssh2's own re-arm (1.x);
 * without it nothing changes.
 */
export function peerAnswered(conn: Connection): void {
  (conn.client as SshClient & { _resetKA?: () => void })._resetKA?.();
}

let handshakes = 0;
/** SSH handshakes (key exchange and authentication) this process completed since start: a steady fleet adds none. */
export const sshHandshakes = (): number => handshakes;

/** Starts connecting at once; `ready` settles when the handshake and authentication have. */
export function openConnection(target: ConnectTarget, hooks: ConnectionHooks): Connection {
  const sock = new net.Socket();
  // Nagle + delayed ACK cost ≈ 50 ms per exec round trip; SSH packets are small and latency-bound.
  sock.setNoDelay(target.options.noDelay ?? true);
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
    shell: undefined,
    shellRefused: false,
  };

  conn.ready = new Promise<void>((resolve, reject) => {
    // ssh2 may emit several errors for one failure; the first one says why.
    client.on('error', (err: ErrnoLike) => {
      firstError ??= err;
    });
    client.once('ready', () => {
      handshakes++;
      conn.isReady = true;
      resolve();
    });
    client.on('close', () => {
      if (!conn.isReady) {
        conn.dead = true;
        hooks.forget(conn);
        reject(connectError(target, firstError, hostKeyRefusal));
        return;
      }
      hooks.lost(conn, new TransportError('CLOSED', `${target.where}: ${lostReason(firstError)}`));
    });
    try {
      client.connect(connectConfig(target, sock, (e) => (hostKeyRefusal = e)));
    } catch (err) {
      // Synchronous throws are configuration problems, in practice an unparsable or still-encrypted private key.
      sock.destroy();
      conn.dead = true;
      const message = err instanceof Error ? err.message : String(err);
      reject(new TransportError('AUTH', `${target.where}: unusable credentials: ${message}`));
      return;
    }
    // Connecting the socket ourselves is what lets setNoDelay apply; ssh2 listens for its 'connect'.
    sock.connect({ host: target.options.host, port: target.port });
  });
  return conn;
}

/** A polite disconnect first; a server that does not answer must not hold up shutdown. `ended` runs when it closed or was given up on. */
export function endConnection(conn: Connection, ended: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    if (conn.dead) return resolve();
    const done = (): void => {
      clearTimeout(force);
      ended();
      resolve();
    };
    const force = setTimeout(done, 1_000);
    force.unref();
    conn.client.once('close', done);
    conn.client.end();
  });
}
