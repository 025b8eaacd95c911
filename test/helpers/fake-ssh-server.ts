// An in-process SSH peer (ssh2.Server) whose misbehaviour each test scripts: faults that a real sshd
// cannot be made to produce on demand (reset mid-exec, binary garbage, hangs).
import net from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';
import { generateHostKey as newHostKey, hostKeyFingerprint } from '../../src/simulator/server.ts';

const { Server } = ssh2;

export interface FakeExecContext {
  command: string;
  channel: ServerChannel;
  /** Tears down the TCP connection under the SSH session, as a crashed host or a middlebox reset would. */
  destroySocket(): void;
  /** Stops reading from the client: the connection stays open but the peer looks wedged. */
  freeze(): void;
}

export interface FakeSshServerOptions {
  /** OpenSSH-format private host key; a fresh ed25519 key when absent. */
  hostKey?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** 'reject' refuses every authentication attempt. */
  auth?: 'accept' | 'reject';
  /** Default: prints the command back and exits 0. */
  onExec?: (ctx: FakeExecContext) => void;
}

export interface FakeSshServer {
  host: string;
  port: number;
  hostKey: string;
  hostKeyFingerprint: string;
  /** TCP connections accepted so far: shows whether a runner reused its connection. */
  readonly connectionCount: number;
  stop(): Promise<void>;
}

/** A fresh ed25519 host key (the simulator's generator works around ssh2's 1-in-256 bad key). */
export function generateHostKey(): { privateKey: string; fingerprint: string } {
  const privateKey = newHostKey();
  return { privateKey, fingerprint: hostKeyFingerprint(privateKey) };
}

export async function startFakeSshServer(options: FakeSshServerOptions = {}): Promise<FakeSshServer> {
  const hostKey = options.hostKey ?? generateHostKey().privateKey;
  const onExec =
    options.onExec ??
    (({ command, channel }: FakeExecContext) => {
      channel.write(`${command}\n`);
      channel.exit(0);
      channel.end();
    });
  const sockets = new Set<net.Socket>();
  let connectionCount = 0;

  const sshServer = new Server({ hostKeys: [hostKey] }, (client: Connection) => {
    client.on('error', () => {
      // Clients vanish mid-session in these tests on purpose.
    });
    client.on('authentication', (ctx) => {
      if (options.auth === 'reject') ctx.reject();
      else ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (acceptExec, _reject, info) => {
          const channel = acceptExec();
          channel.on('error', () => {});
          onExec({
            command: info.command,
            channel,
            destroySocket: () => {
              for (const s of sockets) s.destroy();
            },
            freeze: () => {
              for (const s of sockets) s.pause();
            },
          });
        });
      });
    });
  });

  // Our own net.Server, so tests can reset sockets; ssh2 takes each accepted socket through injectSocket.
  const tcp = net.createServer((sock) => {
    connectionCount++;
    sock.setNoDelay(true);
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    sshServer.injectSocket(sock);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = tcp.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    host: '127.0.0.1',
    port,
    hostKey,
    hostKeyFingerprint: hostKeyFingerprint(hostKey),
    get connectionCount() {
      return connectionCount;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

/** Accepts TCP connections and never says a word: no SSH banner, so only the handshake timeout ends the wait. */
export async function startSilentServer(): Promise<{ host: string; port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
  const addr = tcp.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    host: '127.0.0.1',
    port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
