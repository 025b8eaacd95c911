// `infrapulse simulate --devices N --port P [--seed S] [--host ADDR] [--host-key FILE]
//  [--register URL --token T]`: runs the fleet simulator until SIGINT/SIGTERM.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { registerDevices, type RegisterProgress } from './register.ts';
import { generateHostKey, startSimulator } from './server.ts';

export const SIMULATE_USAGE =
  'usage: infrapulse simulate --devices N [--port P] [--seed S] [--host ADDR] [--host-key FILE] [--register URL --token T]';

export interface SimulateIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Stops the simulator like SIGINT would (tests). */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Called once the simulator listens (tests read the port from it). */
  onListening?: (info: { host: string; port: number }) => void;
}

function intArg(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be an integer, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new Error(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Loads the host key from FILE, or generates one there (mode 0600) so pinned fingerprints survive restarts. */
function loadOrCreateHostKey(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  const key = generateHostKey();
  fs.writeFileSync(file, key, { mode: 0o600 });
  return key;
}

/** Registration progress, at most every 2 s (and the last batch), plus every wait the server asks for. */
function progressPrinter(out: (line: string) => void): (p: RegisterProgress) => void {
  let last = 0;
  return (p) => {
    if (p.kind === 'waiting') {
      const what = p.status === 429 ? 'rate limited' : 'server unavailable';
      out(`${what} (HTTP ${p.status}): waiting ${p.seconds} s as it asks (${p.done} of ${p.total} registered)`);
      return;
    }
    if (Date.now() - last < 2000 && p.done < p.total) return;
    last = Date.now();
    out(`registering: ${p.done} of ${p.total}`);
  };
}

export async function runSimulate(argv: string[], io: SimulateIo = {}): Promise<number> {
  const out = io.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = io.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  let opts: { devices: number; port: number; seed: number; host: string; hostKeyFile?: string; register?: string; token?: string };
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        devices: { type: 'string' },
        port: { type: 'string' },
        seed: { type: 'string' },
        host: { type: 'string' },
        'host-key': { type: 'string' },
        register: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      out(SIMULATE_USAGE);
      return 0;
    }
    if (values.devices === undefined) throw new Error('--devices is required');
    if (values.register !== undefined && !values.token) throw new Error('--register needs --token (an OPERATOR or ADMIN API token)');
    if (values.register !== undefined && !/^https?:\/\//.test(values.register)) {
      throw new Error(`--register must be the API's http(s) URL, e.g. http://127.0.0.1:9101/graphql, got "${values.register}"`);
    }
    opts = {
      devices: intArg('devices', values.devices, 10, 1, 100_000),
      port: intArg('port', values.port, 2222, 0, 65_535),
      seed: intArg('seed', values.seed, 1, 0, 0xffffffff),
      host: values.host ?? '127.0.0.1',
      hostKeyFile: values['host-key'],
      register: values.register,
      token: values.token,
    };
  } catch (e) {
    err(`infrapulse simulate: ${e instanceof Error ? e.message : String(e)}`);
    err(SIMULATE_USAGE);
    return 1;
  }

  let sim: Awaited<ReturnType<typeof startSimulator>>;
  try {
    const hostKey = opts.hostKeyFile === undefined ? undefined : loadOrCreateHostKey(opts.hostKeyFile);
    sim = await startSimulator({ devices: opts.devices, port: opts.port, host: opts.host, seed: opts.seed, hostKey });
  } catch (e) {
    err(`infrapulse simulate: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const first = sim.usernames[0] ?? '';
  const last = sim.usernames[sim.usernames.length - 1] ?? '';
  out(
    `infrapulse simulate: ${opts.devices} simulated SSH host${opts.devices === 1 ? '' : 's'} on ${sim.host}:${sim.port} ` +
      `(users ${first}${opts.devices > 1 ? ` … ${last}` : ''}, seed ${sim.seed}); ANY password or key is accepted: this is a simulator, ` +
      `not a real host. Host key ${sim.hostKeyFingerprint}. Ctrl-C stops it.`,
  );
  io.onListening?.({ host: sim.host, port: sim.port });

  if (opts.register !== undefined && opts.token !== undefined) {
    // A wildcard listen address is not something a poller can connect to.
    const hostname = sim.host === '0.0.0.0' || sim.host === '::' ? '127.0.0.1' : sim.host;
    try {
      const r = await registerDevices({
        url: opts.register,
        token: opts.token,
        hostname,
        port: sim.port,
        usernames: sim.usernames,
        fetch: io.fetch,
        onProgress: progressPrinter(out),
      });
      const failed = r.failed.length === 0 ? '' : `; ${r.failed.length} not created (${r.failed[0]!.username}: ${r.failed[0]!.message})`;
      out(`registered ${r.created.length} of ${opts.devices} devices at ${opts.register}${failed}`);
    } catch (e) {
      err(`infrapulse simulate: registering devices at ${opts.register} failed: ${e instanceof Error ? e.message : String(e)}`);
      await sim.stop();
      return 1;
    }
  }

  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      io.signal?.removeEventListener('abort', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (io.signal?.aborted) done();
    else io.signal?.addEventListener('abort', done, { once: true });
  });
  const s = sim.stats();
  await sim.stop();
  out(`infrapulse simulate: stopped after ${s.connections} connections and ${Object.values(s.execs).reduce((a, b) => a + b, 0)} execs`);
  return 0;
}
