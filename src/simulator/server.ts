// One ssh2.Server impersonating a fleet: the SSH username picks the host (host-0001 …), any
// password or key is accepted, and every exec is answered from that host's profile at the
// current time. No timers run per host; the only work is done when an exec arrives. A batch
// script (several collectors' commands in one, transport/batch.ts) is answered section by section,
// as an exec or written to the poller's kept shell (transport/ssh-shell.ts).
import net from 'node:net';
import ssh2 from 'ssh2';
import type { Algorithms, Connection, ServerChannel } from 'ssh2';
import { buildHostProfile, expectedDriveHealth, usernameFor, type ContainerHealth, type ContainerState, type DriveFate, type DriveKind, type HostProfile } from './profile.ts';
import { classifyCommand, runCommand, type CommandKind, type CommandResult } from './commands.ts';
import { parseBatchScript, renderBatchOutput, SHELL_COMMAND, shellReady, takeShellInput } from '../transport/batch.ts';
import type { DriveHealth } from '../storage/types.ts';
import { seededHostKey } from './host-key.ts';
import { generateEd25519Key as generateHostKey, keyFingerprint as hostKeyFingerprint } from '../transport/keys.ts';

export { generateHostKey, hostKeyFingerprint };

const { Server } = ssh2;

/**
 * Only what is fast in ssh2 with Node's native crypto: curve25519 key exchange (group exchange
 * DH runs in pure JS and takes seconds), an ed25519 host key, AES-GCM (chacha20 for clients
 * without AES-NI). OpenSSH and our runner both offer these.
 */
export const SIMULATOR_ALGORITHMS: Algorithms = {
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org'],
  serverHostKey: ['ssh-ed25519'],
  cipher: ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com'],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-256'],
  compress: ['none'],
};

export interface SimulatorOptions {
  devices: number;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Fleet seed (default 1): the same seed gives the same hosts and, at the same time, the same output. */
  seed?: number;
  /** OpenSSH-format private host key; absent: an ed25519 key derived from the seed (host-key.ts), the same on every start. */
  hostKey?: string;
  /** Wall clock in ms (default Date.now); tests move time by hand with it. */
  clock?: () => number;
  /** Start of the simulation for drive degradation (default: clock() at start). */
  startMs?: number;
  /** Delay before answering each exec, to imitate a real host's command run time (default 0). */
  execLatencyMs?: number;
}

export interface SimulatedDrive {
  device: string;
  kind: DriveKind;
  protocol: 'ATA' | 'NVMe';
  model: string;
  serial: string;
  fate: DriveFate;
  expectedHealth: DriveHealth;
}

export interface SimulatedHost {
  username: string;
  index: number;
  cores: number;
  memTotalBytes: number;
  interfaces: string[];
  mounts: string[];
  drives: SimulatedDrive[];
  containers: { name: string; state: ContainerState; health: ContainerHealth }[];
}

export interface SimulatorStats {
  connections: number;
  openConnections: number;
  /** Exec requests (session channels) answered: a batched poll (transport/batch.ts) sent as an exec is one, a kept shell (transport/ssh-shell.ts) one for all its polls. */
  execRequests: number;
  /** Batch scripts answered, as execs or in a kept shell: one per poll. */
  scripts: number;
  /** Commands answered by kind; each section of a batched exec counts as its own command. */
  execs: Record<CommandKind, number>;
}

export interface Simulator {
  host: string;
  port: number;
  seed: number;
  hostKeyFingerprint: string;
  /** host-0001 … in order; cheap. */
  usernames: readonly string[];
  /** What each host is (drawn on first access: this builds every profile). */
  hosts: SimulatedHost[];
  /** The full profile behind a username (tests and the bench look inside). */
  profile(username: string): HostProfile | undefined;
  stats(): SimulatorStats;
  stop(): Promise<void>;
}

function describe(p: HostProfile): SimulatedHost {
  return {
    username: p.username,
    index: p.index,
    cores: p.cores,
    memTotalBytes: p.memTotalKb * 1024,
    interfaces: p.nics.map((n) => n.name),
    mounts: p.filesystems.map((f) => f.mount),
    drives: p.drives.map((d) => ({
      device: d.device,
      kind: d.kind,
      protocol: d.deviceType === 'nvme' ? 'NVMe' : 'ATA',
      model: d.model,
      serial: d.serial,
      fate: d.fate,
      expectedHealth: expectedDriveHealth(d.fate),
    })),
    containers: p.containers.map((c) => ({ name: c.name, state: c.state, health: c.health })),
  };
}

const SHELL_BANNER = (h: HostProfile) =>
  `infrapulse simulator: ${h.username} (${h.cores} CPUs, ${h.drives.length} drives, ${h.containers.length} containers).\r\n` +
  'There is no interactive shell; run a command instead, e.g. `ssh -p PORT USER@HOST cat /proc/loadavg`.\r\n';

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const devices = options.devices;
  if (!Number.isInteger(devices) || devices < 1) throw new RangeError(`devices must be a positive integer, got ${devices}`);
  const seed = (options.seed ?? 1) >>> 0;
  const clock = options.clock ?? Date.now;
  const startMs = options.startMs ?? clock();
  const latency = options.execLatencyMs ?? 0;
  const hostKey = options.hostKey ?? seededHostKey(seed);
  const fingerprint = hostKeyFingerprint(hostKey);

  // Profiles are drawn on first use: a 10,000-host fleet starts at once, and hosts nobody
  // connects to cost nothing.
  const profiles = new Map<string, HostProfile>();
  const profileOf = (username: string): HostProfile | undefined => {
    const known = profiles.get(username);
    if (known !== undefined) return known;
    const m = /^host-(\d+)$/.exec(username);
    const index = m === null ? 0 : Number(m[1]);
    if (index < 1 || index > devices || usernameFor(index, devices) !== username) return undefined;
    const p = buildHostProfile(index, { devices, seed });
    profiles.set(username, p);
    return p;
  };
  const usernames = Array.from({ length: devices }, (_, i) => usernameFor(i + 1, devices));

  const stats: SimulatorStats = {
    connections: 0,
    openConnections: 0,
    execRequests: 0,
    scripts: 0,
    execs: { system: 0, drives: 0, containers: 0, processes: 0, storage: 0, sensors: 0, gpu: 0, checks: 0, simple: 0, unknown: 0 },
  };

  // Accepted sockets by peer address, so an SSH connection can find its own socket.
  const sockets = new Map<string, net.Socket>();
  const peer = (address: string | undefined, port: number | undefined) => `${address}|${port}`;

  const one = (profile: HostProfile, command: string, nowMs: number): CommandResult => {
    stats.execs[classifyCommand(command)]++;
    return runCommand(profile, command, { nowMs, startMs });
  };
  const write = (channel: ServerChannel, r: { stdout: string; stderr: string }): void => {
    if (r.stdout !== '') channel.write(r.stdout);
    if (r.stderr !== '') channel.stderr.write(r.stderr);
  };
  const answer = (profile: HostProfile, command: string, channel: ServerChannel, sock: net.Socket | undefined): void => {
    stats.execRequests++;
    if (command === SHELL_COMMAND) return keepShell(profile, channel, sock);
    const nowMs = clock();
    const batch = parseBatchScript(command);
    if (batch !== undefined) stats.scripts++;
    const r = batch === undefined ? one(profile, command, nowMs) : renderBatchOutput(batch.nonce, batch.commands.map((c) => one(profile, c, nowMs)));
    write(channel, r);
    channel.exit(r.code);
    channel.end();
  };
  // The poller's kept shell (transport/ssh-shell.ts): the ready probe, then one batch script after another on stdin.
  const keepShell = (profile: HostProfile, channel: ServerChannel, sock: net.Socket | undefined): void => {
    let input = '';
    channel.on('data', (chunk: Buffer) => corked(sock, () => {
      input += chunk.toString('utf8');
      for (let taken = takeShellInput(input); taken !== undefined; taken = takeShellInput(input)) {
        if (taken === 'invalid') {
          channel.stderr.write('infrapulse simulator: the kept shell takes only batch scripts\n');
          channel.exit(2);
          channel.end();
          return;
        }
        input = taken.rest;
        const { input: next } = taken;
        if (next.kind === 'probe') write(channel, { stdout: shellReady(next.nonce), stderr: shellReady(next.nonce) });
        else {
          stats.scripts++;
          const reply = (): void => {
            const nowMs = clock();
            write(channel, renderBatchOutput(next.nonce, next.commands.map((c) => one(profile, c, nowMs))));
          };
          if (latency > 0) setTimeout(() => corked(sock, reply), latency);
          else reply();
        }
      }
    }));
  };
  // ssh2 writes every packet (exec success, data, exit-status, EOF, close) to the socket on its
  // own: with TCP_NODELAY that is one syscall and one segment each. Corked, a reply is one writev.
  const corked = (sock: net.Socket | undefined, fn: () => void): void => {
    sock?.cork();
    try {
      fn();
    } finally {
      if (sock !== undefined) process.nextTick(() => sock.uncork());
    }
  };

  const sshServer = new Server({ hostKeys: [hostKey], algorithms: SIMULATOR_ALGORITHMS }, (client: Connection, info) => {
    const sock = sockets.get(peer(info.ip, info.port));
    let profile: HostProfile | undefined;
    client.on('error', () => {
      // Pollers drop connections whenever they like; nothing to report.
    });
    client.on('authentication', (ctx) => {
      const p = profileOf(ctx.username);
      if (p === undefined) {
        ctx.reject(['password', 'publickey']);
        return;
      }
      // A simulator: any password, any key (its signature is not even checked), or none.
      profile = p;
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('pty', (accept) => accept?.());
        session.on('env', (accept) => accept?.());
        session.on('window-change', (accept) => accept?.());
        session.on('sftp', (_accept, reject) => reject?.());
        session.on('subsystem', (_accept, reject) => reject?.());
        session.on('shell', (accept) => {
          const channel = accept();
          channel.on('error', () => {});
          if (profile !== undefined) channel.write(SHELL_BANNER(profile));
          channel.exit(0);
          channel.end();
        });
        session.on('exec', (accept, _reject, info) => {
          const p = profile;
          // A kept shell waits only before each script's answer.
          if (latency > 0 && info.command !== SHELL_COMMAND) {
            const channel = accept();
            channel.on('error', () => {});
            setTimeout(() => corked(sock, () => (p === undefined ? channel.close() : answer(p, info.command, channel, sock))), latency);
            return;
          }
          corked(sock, () => {
            const channel = accept();
            channel.on('error', () => {});
            if (p === undefined) channel.close();
            else answer(p, info.command, channel, sock);
          });
        });
      });
    });
  });

  // Our own listener so each socket gets TCP_NODELAY before the handshake: with Nagle on,
  // every small SSH packet waits for the peer's delayed ACK (~50 ms per exec).
  const tcp = net.createServer((sock) => {
    stats.connections++;
    stats.openConnections++;
    sock.setNoDelay(true);
    const key = peer(sock.remoteAddress, sock.remotePort);
    sockets.set(key, sock);
    sock.on('error', () => {});
    sock.on('close', () => {
      stats.openConnections--;
      sockets.delete(key);
    });
    sshServer.injectSocket(sock);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port ?? 0, host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const addr = tcp.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;

  let hostsCache: SimulatedHost[] | undefined;
  return {
    host,
    port,
    seed,
    hostKeyFingerprint: fingerprint,
    usernames,
    get hosts(): SimulatedHost[] {
      hostsCache ??= usernames.map((u) => describe(profileOf(u)!));
      return hostsCache;
    },
    profile: profileOf,
    stats: () => ({ ...stats, execs: { ...stats.execs } }),
    async stop() {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const s of sockets.values()) s.destroy();
      await closed;
    },
  };
}
