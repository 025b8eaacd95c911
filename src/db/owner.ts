/**
 * The owner lock of a DATA_DIR: `DATA_DIR/infrapulse.lock` names the one infrapulse process
 * that may start, stop or recover the embedded PostgreSQL there (and write the spool):
 * `serve` for its whole life, or a command such as `token create` while it runs alone. Another
 * process finds the owner here and keeps its hands off: a command that needs the database
 * uses the owner's PostgreSQL at the port recorded here, or says the owner must stop first.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Owner {
  pid: number;
  /** e.g. "serve", "token create". */
  command: string;
  /** The process's start time (/proc/<pid>/stat), so a recycled pid is not taken for the owner. */
  processStart: string | null;
  /** The embedded PostgreSQL's port once it listens. */
  postgresPort: number | null;
}

export interface OwnerLock {
  /** Records the embedded PostgreSQL's port for other processes. */
  recordPort(port: number): void;
  release(): void;
}

/** A start refused on purpose: its message is the whole answer (one line, nothing to log). */
export class StartRefusedError extends Error {
  override readonly name: string = 'StartRefusedError';
}

export class DataDirBusyError extends StartRefusedError {
  override readonly name = 'DataDirBusyError';
  constructor(
    readonly dataDir: string,
    readonly owner: Owner,
  ) {
    super(`DATA_DIR ${dataDir} is in use by a running infrapulse ${owner.command} (pid ${owner.pid}); stop it first or use another DATA_DIR`);
  }
}

const lockFile = (dataDir: string): string => path.join(dataDir, 'infrapulse.lock');

/** Field 22 of /proc/<pid>/stat (start time in clock ticks); null where there is no /proc. */
function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isRunning(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(owner.pid);
  return owner.processStart === null || start === null || start === owner.processStart;
}

function readLock(dataDir: string): Owner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(lockFile(dataDir), 'utf8')) as Partial<Owner>;
    if (typeof o.pid !== 'number' || typeof o.command !== 'string') return undefined;
    return { pid: o.pid, command: o.command, processStart: o.processStart ?? null, postgresPort: o.postgresPort ?? null };
  } catch {
    return undefined; // missing, or torn by a crash mid-write: not an owner
  }
}

/** The running process that owns `dataDir`, if any (never this process). */
export function currentOwner(dataDir: string): Owner | undefined {
  const owner = readLock(dataDir);
  return owner && owner.pid !== process.pid && isRunning(owner) ? owner : undefined;
}

/** Takes `dataDir` for this process; throws DataDirBusyError when another running process has it. */
export function acquireOwnerLock(dataDir: string, command: string): OwnerLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  const file = lockFile(dataDir);
  const me: Owner = { pid: process.pid, command, processStart: processStart(process.pid), postgresPort: null };
  const write = (flag: 'wx' | 'w') => fs.writeFileSync(file, `${JSON.stringify(me)}\n`, { mode: 0o644, flag });
  for (let attempt = 0; ; attempt++) {
    try {
      write('wx'); // atomic: of two processes starting together, one creates it
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw e;
      const owner = currentOwner(dataDir);
      if (owner) throw new DataDirBusyError(dataDir, owner);
      fs.rmSync(file, { force: true }); // left by a process that is gone (a crash, a reboot)
    }
  }
  return {
    recordPort(port) {
      me.postgresPort = port;
      write('w');
    },
    release() {
      if (readLock(dataDir)?.pid === process.pid) fs.rmSync(file, { force: true });
    },
  };
}
