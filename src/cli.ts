/** `infrapulse serve | parse | token | simulate | mcp | schema | migrate | bench` */
import { startingSmall } from './v8-flags.ts';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { clusterDir } from './db/embedded.ts';
import { createLogger, scrubText } from './log.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Each command's usage: printed on `--help` and after a bad option, and the one list of the
 * options it takes (every `--name` in it), checked before the command runs.
 */
const USAGES: Record<string, [synopsis: string, does: string]> = {
  serve: ['serve', 'run the API and the poller (same as npm start)'],
  parse: ['parse <kind> <file>', 'run one parser on captured output, print JSON'],
  token: ['token create --name N --role VIEWER|OPERATOR|ADMIN [--expires-in-days D]', 'print a new API token once'],
  simulate: ['simulate --devices N [--port P] [--seed S] [--host ADDR] [--host-key FILE] [--register URL --token T]', 'a simulated fleet of SSH hosts'],
  mcp: ['mcp --url URL --token T', "stdio bridge to a server's MCP endpoint (for assistants)"],
  schema: ['schema print|check', 'write or verify schema.graphql'],
  'rotate-key': ['rotate-key --generate | --new-key HEX', 're-encrypt stored secrets under a new key (server stopped)'],
  migrate: ['migrate', 'apply database migrations and exit'],
  bench: ['bench [--quick] [--out FILE] [--only PARTS] [--size full|quick|tiny] [--cpu-prof DIR]', 'run the benchmark suite'],
};

const USAGE = `usage: infrapulse <command>\n${Object.values(USAGES)
  .map(([synopsis, does]) => `  ${synopsis}\n      ${does}`)
  .join('\n')}`;

const usageOf = (command: string): string => `usage: infrapulse ${USAGES[command]?.[0] ?? ''}\n  ${USAGES[command]?.[1] ?? ''}`;

/**
 * `--help` / `-h`: 'help'; an option the command's usage does not name: that option; else
 * undefined. Option values are not checked here (the command does): only names.
 */
function checkOptions(command: string, args: string[]): string | undefined {
  const known = new Set([...(USAGES[command]?.[0] ?? '').matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]));
  const { tokens } = parseArgs({ args, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    if (t.name === 'help' || t.name === 'h') return 'help';
    if (!known.has(t.name)) return t.rawName;
  }
  return undefined;
}

function config(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) process.stderr.write(`infrapulse: invalid setting ${p}\n`);
      process.exit(1);
    }
    throw e;
  }
}

async function serve(): Promise<number> {
  const cfg = config();
  const log = createLogger(cfg.logLevel);
  // Before loading the server's modules (seconds on a busy machine): a busy DATA_DIR answers at once.
  const { currentOwner, DataDirBusyError } = await import('./db/owner.ts');
  const owner = currentOwner(cfg.dataDir);
  if (owner) {
    process.stderr.write(`infrapulse: ${new DataDirBusyError(cfg.dataDir, owner).message}\n`);
    return 1;
  }
  let app;
  try {
    app = await startingSmall(async () => (await import('./main.ts')).startApp(cfg, log));
  } catch (e) {
    const { StartRefusedError } = await import('./db/owner.ts');
    const reason = scrubText((e as Error).message);
    // A busy DATA_DIR or a wrong key is an answer, not a failure to log: one line.
    if (!(e instanceof StartRefusedError)) log.fatal({ err: reason }, 'infrapulse could not start');
    process.stderr.write(`infrapulse: ${reason}\n`);
    return 1;
  }
  const graphiql = `${app.server.url}/graphql`;
  process.stdout.write(
    `infrapulse ${app.services.version} is serving ${graphiql}\n` +
      (cfg.dashboard ? `  dashboard:   open ${app.server.url}/ in a browser\n` : '') +
      (cfg.graphiql ? `  GraphiQL:    open ${graphiql} in a browser\n` : '') +
      `  admin token: ${app.adminTokenAt === 'INFRAPULSE_ADMIN_TOKEN' ? 'the value of INFRAPULSE_ADMIN_TOKEN' : `cat ${app.adminTokenAt}`}\n` +
      `  database:    ${app.db.embedded ? `embedded PostgreSQL in ${clusterDir(cfg.dataDir)}` : 'DATABASE_URL'}${app.db.timescale ? ` (TimescaleDB ${app.db.timescale})` : ''}\n`,
  );
  return new Promise((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      // Whatever happens, the process is gone within 10 s of the signal.
      setTimeout(() => {
        log.error('shutdown took too long; exiting');
        process.exit(1);
      }, 9500).unref();
      void app.stop().then(() => {
        // Samples lost (refused as bad data, or neither the database nor the spool could take
        // them) make the exit code say so: a supervisor must not read this stop as clean.
        const lost = app.droppedSamples();
        if (lost === 0) return resolve(0);
        process.stderr.write(`infrapulse: lost ${lost} samples since start (see the log for why); exiting with 1\n`);
        resolve(1);
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}

async function token(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { name: { type: 'string' }, role: { type: 'string' }, 'expires-in-days': { type: 'string' } } });
  const role = values.role?.toUpperCase();
  if (positionals[0] !== 'create' || !values.name || (role !== 'VIEWER' && role !== 'OPERATOR' && role !== 'ADMIN')) {
    process.stderr.write(`${usageOf('token')}\n`);
    return 2;
  }
  const days = values['expires-in-days'] ? Number(values['expires-in-days']) : undefined;
  if (days !== undefined && !(days > 0)) {
    process.stderr.write('infrapulse: --expires-in-days must be a positive number\n');
    return 2;
  }
  const cfg = config();
  const log = createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel);
  const { openSharedDatabase } = await import('./db/index.ts');
  const { createApiToken } = await import('./tokens.ts');
  // Beside a running server: its database, which this command must not stop.
  const db = await openSharedDatabase(cfg, log, 'token create').catch((e: unknown) => e as Error);
  if (db instanceof Error) return failed(db);
  try {
    const created = await createApiToken(db.prisma, { name: values.name, role, expiresAt: days ? new Date(Date.now() + days * 86_400_000) : null });
    process.stdout.write(`${created.token}\n`);
    process.stderr.write(`created ${role} token "${values.name}" (${created.apiToken.id}); it is shown only this once\n`);
    return 0;
  } finally {
    await db.close();
  }
}

async function schemaCommand(sub: string | undefined): Promise<number> {
  const { printSortedSchema } = await import('./graphql/schema.ts');
  const file = path.join(ROOT, 'schema.graphql');
  const printed = printSortedSchema();
  if (sub === 'print') {
    fs.writeFileSync(file, printed);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file) || file}\n`);
    return 0;
  }
  if (sub === 'check') {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current === printed) return 0;
    process.stderr.write('schema.graphql is stale: run `npm run schema:print` and commit it\n');
    return 1;
  }
  process.stderr.write(`${usageOf('schema')}\n`);
  return 2;
}

async function migrate(): Promise<number> {
  const cfg = config();
  const log = createLogger(cfg.logLevel);
  const { openDatabase } = await import('./db/index.ts');
  // A running server migrated its database at start; this one would stop it: refused (DataDirBusyError).
  const db = await openDatabase(cfg, log, { command: 'migrate' }).catch((e: unknown) => e as Error);
  if (db instanceof Error) return failed(db);
  await db.close();
  return 0;
}

/**
 * The benchmark suite is not part of the server, and src/ must not import bench/: it runs as a
 * child process on its own entry (bench/main.ts), through tsx as bin/infrapulse.js runs this file,
 * on this terminal, and its exit code (128 + signal number when a signal ended it) is this one's.
 */
function bench(args: string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'bench', 'main.ts'), ...args], { stdio: 'inherit' });
  // A signal sent to this process alone reaches the bench too (Ctrl-C already reaches both).
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve) => {
    const done = (code: number): void => {
      for (const s of signals) process.off(s, forward);
      resolve(code);
    };
    // Only a failure to start ends the wait here; any other error is followed by 'exit'.
    child.once('error', (e) => {
      if (child.pid !== undefined) return;
      process.stderr.write(`infrapulse bench: could not start the benchmark: ${e.message}\n`);
      done(1);
    });
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}

/** A command that could not open its database: one line (passwords redacted), exit 1. */
function failed(e: Error): number {
  process.stderr.write(`infrapulse: ${scrubText(e.message)}\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && Object.hasOwn(USAGES, command)) {
    const bad = checkOptions(command, rest);
    if (bad === 'help') {
      process.stdout.write(`${usageOf(command)}\n`);
      return 0;
    }
    if (bad !== undefined) {
      process.stderr.write(`infrapulse ${command}: unknown option ${bad}\n${usageOf(command)}\n`);
      return 2;
    }
  }
  switch (command) {
    case 'serve':
      return serve();
    case 'parse': {
      const { runParse } = await import('./collectors/parse-command.ts');
      return runParse(rest[0] ?? '', rest[1] ?? '');
    }
    case 'token':
      return token(rest);
    case 'simulate': {
      const { runSimulate } = await import('./simulator/cli.ts');
      return runSimulate(rest);
    }
    case 'mcp': {
      const { runMcpBridge } = await import('./mcp/bridge.ts');
      return runMcpBridge(rest);
    }
    case 'schema':
      return schemaCommand(rest[0]);
    case 'rotate-key': {
      const { runRotateKey } = await import('./security/rotate-key.ts');
      return runRotateKey(rest);
    }
    case 'migrate':
      return migrate();
    case 'bench':
      return bench(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return command ? 0 : 2;
    default:
      process.stderr.write(`infrapulse: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

const code = await main(process.argv.slice(2));
// serve may leave library timers behind after a clean shutdown, and the mcp bridge idle HTTP
// keep-alive sockets; nothing else is pending then.
if (process.argv[2] === 'serve' || process.argv[2] === 'mcp') process.exit(code);
process.exitCode = code;
