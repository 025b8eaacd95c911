/**
 * A bench module forked as a child process with typed IPC. The children are the servers and
 * pollers the bench measures, so they run compiled (dist-bench/ over dist/, as `npm start`
 * runs the server) once bench/main.ts has built them: through tsx a server holds about 75 MB
 * more and pays the transform. Without a build (`useCompiledChildren` not called) they run
 * through tsx.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TSX = import.meta.resolve('tsx');

let compiledDir: string | undefined;
/** Children started after this run `dir`/<module>.js with plain Node. */
export function useCompiledChildren(dir: string): void {
  compiledDir = dir;
}

let cpuProfileDir: string | undefined;
/** Node writes a --cpu-prof profile only at a normal exit: a child that kill() has to SIGTERM (a 10,000-device poller takes more than 10 s to stop) exits normally instead. */
const EXIT_ON_TERM = "data:text/javascript,process.once('SIGTERM',()=>process.exit(143))";
/** Children started after this write a V8 CPU profile into `dir` when they exit (bench --cpu-prof DIR). */
export function setChildCpuProfileDir(dir: string | undefined): void {
  cpuProfileDir = dir;
}

/** Every child not yet exited, so a part that fails half-way cannot leave one polling (and the bench waiting on it). */
const live = new Set<{ kill(): Promise<void> }>();

/** Stops every child still running; how many there were. */
export async function stopLeftoverChildren(): Promise<number> {
  const left = [...live];
  await Promise.all(left.map((c) => c.kill()));
  return left.length;
}

export class Child<To extends object, From extends { type: string }> {
  readonly proc: ChildProcess;
  private waiters: { match: (m: From) => boolean; resolve: (m: From) => void }[] = [];
  private listeners: ((m: From) => void)[] = [];
  private exited: Error | null = null;

  constructor(module: string, readonly name: string, { gc = false }: { gc?: boolean } = {}) {
    const file = compiledDir ? path.join(compiledDir, path.basename(module).replace(/\.ts$/, '.js')) : fileURLToPath(new URL(module, import.meta.url));
    this.proc = fork(file, [], {
      execArgv: [...(compiledDir ? [] : ['--import', TSX]), ...(gc ? ['--expose-gc'] : []), ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, '--import', EXIT_ON_TERM] : [])],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (raw) => {
      const m = raw as From;
      if (m.type === 'error') this.fail(new Error(`${name}: ${(m as unknown as { message: string }).message}`));
      for (const l of this.listeners) l(m);
      const i = this.waiters.findIndex((w) => w.match(m));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
    live.add(this);
    this.proc.on('exit', (code, signal) => {
      live.delete(this);
      this.fail(new Error(`${name} exited (${signal ?? code})`));
    });
  }

  private fail(e: Error): void {
    this.exited ??= e;
    for (const w of this.waiters.splice(0)) w.resolve({ type: '__failed' } as From);
  }

  send(m: To): void {
    this.proc.send(m);
  }

  on(listener: (m: From) => void): void {
    this.listeners.push(listener);
  }

  /** The next message of `type` (optionally also matching `where`). */
  async next<T extends From['type']>(type: T, timeoutMs = 60_000, where: (m: Extract<From, { type: T }>) => boolean = () => true): Promise<Extract<From, { type: T }>> {
    if (this.exited) throw this.exited;
    let timer: NodeJS.Timeout | undefined;
    const got = await new Promise<From>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name}: no "${type}" message within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match: (m) => m.type === type && where(m as Extract<From, { type: T }>), resolve });
    }).finally(() => clearTimeout(timer));
    if (got.type === '__failed') throw this.exited ?? new Error(`${this.name} failed`);
    return got as Extract<From, { type: T }>;
  }

  async request<T extends From['type']>(m: To, type: T, timeoutMs?: number): Promise<Extract<From, { type: T }>> {
    const p = this.next(type, timeoutMs);
    this.send(m);
    return p;
  }

  /** Asks the child to exit with `stop` (so it can finish, e.g. write its CPU profile), then kills it if it has not within 10 s. */
  async kill(stop?: To): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    if (stop && this.proc.connected) {
      this.proc.send(stop);
      const done = await Promise.race([gone.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      if (done) return;
    }
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }
}
