// A real OpenSSH server on 127.0.0.1 for integration tests: own host key, own client key, own config.
// As root it authenticates a system user it creates (key or password). As an ordinary user it
// runs unprivileged and can only log in the user who runs it, by key: a non-root sshd cannot
// read /etc/shadow, so `password` is null then and password logins are not tested.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
export const SSH_TEST_USER = 'infrapulse-test';
// Fixed so concurrently running test files that each start an sshd agree on it.
export const SSH_TEST_PASSWORD = 'infrapulse-test-password';

/** Root can create users and run a privileged sshd; anyone else gets the unprivileged one. */
export const SSHD_AS_ROOT = process.getuid?.() === 0;

export interface TestSshd {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** The user's password; null when sshd runs unprivileged (it cannot check passwords then). */
  password: string | null;
  hostKeyFingerprint: string;
  /** Public half of the host key, for `ssh-keygen -lf`. */
  hostKeyPubPath: string;
  /** The test user's authorized_keys (holds the client key's line); tests may append to it. */
  authorizedKeysPath: string;
  /** Kills sshd and its temp dir. */
  stop(): Promise<void>;
  /** Kills sshd and every per-connection child, so clients see their connections die; files stay for restart(). */
  kill(): Promise<void>;
  /** Starts sshd again on the same port with the same keys (killing it first if it runs). */
  restart(): Promise<void>;
  /** What sshd and its per-connection processes logged since the last (re)start. */
  log(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function ensureTestUser(): Promise<void> {
  try {
    await run('id', ['-u', SSH_TEST_USER]);
  } catch {
    try {
      // /bin/sh: root's interactive shell start-up here is slow and would dominate exec timings.
      await run('useradd', ['-m', '-s', '/bin/sh', SSH_TEST_USER]);
    } catch (err) {
      // Exit 9: another test file created it first.
      if (!(typeof err === 'object' && err !== null && 'code' in err && err.code === 9)) throw err;
    }
  }
  // With UsePAM=no, sshd refuses accounts whose password is locked ('!'), even for key auth.
  await new Promise<void>((resolve, reject) => {
    const p = spawn('chpasswd', [], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`chpasswd failed: ${err}`))));
    p.stdin.end(`${SSH_TEST_USER}:${SSH_TEST_PASSWORD}\n`);
  });
}

/** Resolves once the port answers with an SSH banner; sshd listening but not yet accepting would make the first test flaky. */
async function waitForBanner(port: number, deadlineMs: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited with code ${child.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, 500);
      s.once('data', (d: Buffer) => {
        clearTimeout(timer);
        s.destroy();
        resolve(d.toString().startsWith('SSH-2.0-'));
      });
      s.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not come up on port ${port}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `logLevel`: sshd's LogLevel (ERROR unless a test reads the log for more, e.g. DEBUG1's global requests). */
export async function startSshd(options: { port?: number; logLevel?: string } = {}): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error('OpenSSH server not found: apt-get install -y openssh-server');
  // Unprivileged, sshd needs neither its privilege-separation directory nor another user.
  const username = SSHD_AS_ROOT ? SSH_TEST_USER : userInfo().username;
  if (SSHD_AS_ROOT) {
    await ensureTestUser();
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  }

  const dir = await mkdtemp(join(tmpdir(), 'infrapulse-sshd-'));
  // sshd reads authorized_keys with the test user's privileges, so the directory must be traversable.
  await chmod(dir, 0o755);
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'infrapulse-test-host', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'infrapulse-test-client', '-f', clientKey]);
  const authorizedKeys = join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, await readFile(`${clientKey}.pub`), { mode: 0o644 });
  const { stdout: fpLine } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`]);
  const hostKeyFingerprint = fpLine.split(' ')[1] ?? '';
  // An empty config file so the machine's /etc/ssh/sshd_config (UsePAM, Include, banners) cannot leak in.
  const config = join(dir, 'sshd_config');
  await writeFile(config, '');

  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (): Promise<void> => {
    output = '';
    const proc = spawn(
      SSHD,
      [
        '-D',
        '-e',
        '-f', config,
        '-p', String(port),
        '-h', hostKey,
        '-o', 'ListenAddress=127.0.0.1',
        '-o', `AuthorizedKeysFile=${authorizedKeys}`,
        '-o', 'StrictModes=no',
        '-o', `PidFile=${join(dir, 'sshd.pid')}`,
        '-o', 'UsePAM=no',
        '-o', `PasswordAuthentication=${SSHD_AS_ROOT ? 'yes' : 'no'}`,
        '-o', 'KbdInteractiveAuthentication=no',
        '-o', `AllowUsers=${username}`,
        '-o', `LogLevel=${options.logLevel ?? 'ERROR'}`,
      ],
      // Own process group: stop() kills the listener and every per-connection sshd child at once.
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child = proc;
    await waitForBanner(port, 10_000, proc, () => output);
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.pid === undefined || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // sshd puts each connection in its own session (setsid), so killing the process group would leave
    // established connections alive; kill the whole descendant tree instead.
    for (const pid of [proc.pid, ...(await descendants(proc.pid))]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await exited;
  };

  await launch();

  return {
    host: '127.0.0.1',
    port,
    username,
    privateKey: await readFile(clientKey, 'utf8'),
    password: SSHD_AS_ROOT ? SSH_TEST_PASSWORD : null,
    hostKeyFingerprint,
    hostKeyPubPath: `${hostKey}.pub`,
    authorizedKeysPath: authorizedKeys,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
    kill,
    async restart() {
      await kill();
      await launch();
    },
    log: () => output,
  };
}

async function descendants(root: number): Promise<number[]> {
  const parentOf = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may itself contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // Exited while scanning.
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}
