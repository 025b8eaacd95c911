/**
 * Child process: the real poller (createPoller) polling every simulated host, so
 * process.cpuUsage() here is the poller's CPU alone. Poll durations come from the poller's
 * own "poll ok" debug record, caught in a pino hook before anything is serialised, so
 * observing them costs next to nothing. With `withServer`, the API server (buildServer) runs
 * here too over the same event bus, as the app composes them: the memory part.
 */
import '../src/v8-flags.ts'; // as the server runs: first, before anything allocates
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createPool } from '../src/db/adapter.ts';
import { createPrismaClient, PrismaClient, detectTimescale } from '../src/db/index.ts';
import { createSecretBox } from '../src/db/secrets.ts';
import { createEventBus, type EventBus } from '../src/events/index.ts';
import { BACKUP_MARK } from '../src/simulator/render-checks.ts';
import type { Services } from '../src/graphql/context.ts';
import type { Logger } from '../src/log.ts';
import { startMemoryTrim } from '../src/memory-trim.ts';
import { createPoller } from '../src/poller/index.ts';
import { createApiToken } from '../src/tokens.ts';
import type { FromPoller, PollerStart, ToPoller } from './poll-protocol.ts';

const send = (m: FromPoller): void => void process.send?.(m);

/** This thread's time on a CPU in µs: the first field of schedstat is nanoseconds. Undefined off Linux. */
function threadCpuUs(): number | undefined {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

async function main(start: PollerStart): Promise<void> {
  let pollMs: number[] = [];
  let collectorRuns = 0;
  let lastFailure: string | null = null;
  const log = pino({
    level: 'debug',
    hooks: {
      logMethod(args, method, level) {
        if (args[1] === 'poll had failures') {
          lastFailure = JSON.stringify((args[0] as { failures?: unknown }).failures ?? args[0]).slice(0, 300);
          return;
        }
        if (level === 20) {
          if (args[1] === 'poll ok') {
            const r = args[0] as { ms: number; collectors: string[] };
            pollMs.push(r.ms);
            collectorRuns += r.collectors.length;
          }
          return;
        }
        if (level >= 50) method.apply(this, args);
      },
    },
  }) as unknown as Logger;

  const pool = createPool(start.databaseUrl, { max: 20 });
  const prisma = createPrismaClient(pool);
  const secrets = createSecretBox(randomBytes(32));
  const run = randomBytes(3).toString('hex');
  const credential = await prisma.credential.create({ data: { name: `bench-${run}`, kind: 'PASSWORD', encryptedSecret: new Uint8Array(secrets.encrypt('simulated')) } });
  // The parts share one database: the fleets before this one go, so that each part measures a
  // poller of its own fleet. Kept switched off, they cost this process about 11 KB each (their
  // runtimes, docs/benchmarks.md "One write per message"): the memory part carried 4,100 of them.
  // So do the checks the poll part added (add-checks): every part after it ran their scope test
  // each second for each of its devices, against lists of up to 1,000 ids of devices gone.
  await prisma.check.deleteMany({});
  await prisma.device.deleteMany({});
  // In chunks: Prisma's query compiler (wasm) grows its memory to fit the largest statement it
  // compiled and never gives it back; one createMany of the whole fleet left 13 MB at 1,000
  // devices and 75 MB at 10,000 in this process, which the memory part then counted as the
  // poller's. The app registers devices one createDevice at a time.
  const rows = start.sim.usernames.map((username) => ({
    name: `${username}-${run}`,
    hostname: start.sim.host,
    port: start.sim.port,
    username,
    credentialId: credential.id,
    hostKeyFingerprint: start.sim.fingerprint,
    systemInterval: start.intervalSec,
    containerInterval: start.intervalSec,
    driveInterval: start.intervalSec,
  }));
  for (let i = 0; i < rows.length; i += 50) await prisma.device.createMany({ data: rows.slice(i, i + 50) });
  const config = loadConfig({
    DATA_DIR: start.dataDir,
    DATABASE_URL: start.databaseUrl,
    MONITOR_LOCALHOST: 'false',
    POLLING_ENABLED: 'true',
    POLLING_MAX_CONCURRENT_DEVICES: String(start.maxConcurrent),
    PORT: '0',
    LOG_LEVEL: 'silent',
    // As the app's default unless the bench's environment says otherwise (an A/B of trimming).
    MEMORY_TRIM_INTERVAL_SECONDS: process.env.MEMORY_TRIM_INTERVAL_SECONDS,
  });
  const events = createEventBus();
  const db = { prisma, pool, url: start.databaseUrl, timescale: await detectTimescale(pool), embedded: false, close: async () => undefined };
  const spoolDir = path.join(start.dataDir, `bench-spool-${run}`);
  let lateMs: number[] = [];
  let collectMs: number[] = [];
  const observer = { slotStarted: (_c: unknown, seconds: number) => void lateMs.push(seconds * 1000), collectorDone: (_c: unknown, _o: unknown, seconds: number) => void collectMs.push(seconds * 1000) };
  const poller = createPoller({ config, db, events, log, secrets, tuning: { spoolDir }, observer });
  startMemoryTrim(config.memoryTrimSeconds, log);
  // polls_waiting as a Prometheus scrape would see it, but every 100 ms.
  let waiting = { max: 0, sum: 0, n: 0 };
  setInterval(() => {
    const w = poller.waiting();
    waiting = { max: Math.max(waiting.max, w), sum: waiting.sum + w, n: waiting.n + 1 };
  }, 100).unref();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let port: number | null = null;
  let token: string | null = null;
  let subscriptions = (): number => 0;
  if (start.withServer) {
    const { buildServer } = await import('../src/server/index.ts');
    const services: Services = { config, db, events, log, secrets, startedAt: new Date(), version: 'bench', poller, subscribers: { ws: 0, sse: 0 } };
    const server = buildServer(services);
    await server.start();
    port = server.port;
    subscriptions = () => server.operations.stats().members;
    token = (await createApiToken(prisma, { name: `bench memory ${run}`, role: 'VIEWER' })).token;
  }
  await poller.start();
  const checkIds: string[] = [];
  process.on('message', (m: ToPoller) => {
    if (m.type === 'stop') {
      void poller.stop().finally(() => {
        fs.rmSync(spoolDir, { recursive: true, force: true });
        process.exit(0);
      });
      return;
    }
    if (m.type === 'add-checks') {
      addChecks(prisma, events, credential.id, run, m.intervalSec).then(
        (ids) => {
          checkIds.push(...ids);
          send({ type: 'checks-added', checks: ids.length, intervalSec: m.intervalSec });
        },
        (e: unknown) => send({ type: 'error', message: (e as Error).stack ?? String(e) }),
      );
      return;
    }
    if (m.type === 'check-statuses') {
      prisma.$queryRawUnsafe<{ status: string; n: number }[]>('SELECT status, count(*)::int AS n FROM check_results WHERE check_id = ANY($1::text[]) GROUP BY status', checkIds).then(
        (rows) => send({ type: 'check-statuses', statuses: Object.fromEntries(rows.map((r) => [r.status, r.n])) }),
        (e: unknown) => send({ type: 'error', message: (e as Error).stack ?? String(e) }),
      );
      return;
    }
    if (m.gc) (globalThis as { gc?: () => void }).gc?.();
    const u = process.cpuUsage();
    const mainThreadCpuUs = threadCpuUs();
    const s = poller.stats();
    send({
      type: 'usage',
      cpuUs: u.user + u.system,
      ...(mainThreadCpuUs === undefined ? {} : { mainThreadCpuUs }),
      rss: process.memoryUsage.rss(),
      sshHandshakes: s.sshHandshakes,
      pollsTotal: s.pollsTotal,
      pollsFailed: s.pollsFailed,
      writerQueuedRows: s.writer.queuedRows,
      skippedOverlaps: s.skippedOverlaps,
      slotsStarted: s.slotsStarted,
      slotsLate: s.slotsLate,
      lateMs,
      waitingMax: waiting.max,
      waitingMean: waiting.n > 0 ? waiting.sum / waiting.n : 0,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      online: s.byStatus.ONLINE + s.byStatus.DEGRADED,
      pollMs,
      collectMs,
      collectorRuns,
      lastFailure,
      subscriptions: subscriptions(),
      checkRuns: s.checks.runs,
    });
    pollMs = [];
    collectMs = [];
    lateMs = [];
    waiting = { max: 0, sum: 0, n: 0 };
    loop.reset();
  });
  send({ type: 'ready', devices: start.sim.usernames.length, port, token });
}

/**
 * What the poll part's checks run: the docs' one-plugin backup check and a check_disk, both
 * answered by the simulator (src/simulator/render-checks.ts; the backup fails now and then).
 */
export const BENCH_CHECKS = [
  { name: 'backup age', command: `/usr/lib/nagios/plugins/check_file_age -w 93600 -c 93600 -f ${BACKUP_MARK}` },
  { name: 'root filesystem', command: '/usr/lib/nagios/plugins/check_disk -w 20% -c 10% -p /' },
] as const;

/** Creates BENCH_CHECKS scoped to this run's devices and has the check runner start them at once (as createCheck does). */
async function addChecks(prisma: PrismaClient, events: EventBus, credentialId: string, run: string, intervalSec: number): Promise<string[]> {
  const devices = await prisma.device.findMany({ where: { credentialId }, select: { id: true } });
  const ids: string[] = [];
  for (const c of BENCH_CHECKS) {
    const check = await prisma.check.create({ data: { name: `${c.name} ${run}`, command: c.command, kind: 'EXIT_CODE', intervalSeconds: intervalSec, timeoutSeconds: Math.min(10, intervalSec), deviceIds: devices.map((d) => d.id) } });
    ids.push(check.id);
    await events.publish('checksChanged', { checkId: check.id, soon: true });
  }
  return ids;
}

process.once('message', (m: PollerStart) => {
  main(m).catch((e: unknown) => {
    send({ type: 'error', message: (e as Error).stack ?? String(e) });
    process.exit(1);
  });
});
