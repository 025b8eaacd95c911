/**
 * Composition root: config → logger → database → events → server → poller. stop() undoes it
 * in reverse: the poller drains its polls and write buffer, the server lets requests finish,
 * then the database (and the embedded PostgreSQL) stops.
 */
import fs from 'node:fs';
import type { Config } from './config.ts';
import { openDatabase, type Database } from './db/index.ts';
import { acquireOwnerLock, StartRefusedError, type OwnerLock } from './db/owner.ts';
import { matchesDatabaseKey } from './db/key-check.ts';
import { createSecretBox, loadSecretKey } from './db/secrets.ts';
import path from 'node:path';
import { sshIdentity } from './security/ssh-identity.ts';
import { createAlertEvaluator } from './alerts/index.ts';
import type { ExecOn } from './alerts/culprits.ts';
import { openEventBus } from './events/index.ts';
import { attachMetrics, eventPublished, pollerObserver } from './metrics.ts';
import { startMemoryTrim } from './memory-trim.ts';
import { createPoller, type Poller } from './poller/index.ts';
import type { Services } from './graphql/context.ts';
import type { Logger } from './log.ts';
import { buildServer, type ServerHandle } from './server/index.ts';
import { applyRetention } from './storage/retention.ts';
import { ensureAdminToken } from './tokens.ts';
import { VERSION } from './version.ts';

export interface App {
  server: ServerHandle;
  db: Database;
  services: Services;
  /** Where the admin token is: a file path or the env var's name. */
  adminTokenAt: string;
  stop(): Promise<void>;
  /** Samples lost since start (refused as bad data, or neither the database nor the spool could take them). */
  droppedSamples(): number;
}

export async function startApp(config: Config, log: Logger): Promise<App> {
  // Traversable but not listable: the embedded PostgreSQL's own user must reach its subfolder.
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o711 });
  // First: a second server on this DATA_DIR must leave the first one's database (and spool) alone.
  const owner = acquireOwnerLock(config.dataDir, 'serve');
  try {
    return await startOwned(config, log, owner);
  } catch (e) {
    owner.release();
    throw e;
  }
}

async function startOwned(config: Config, log: Logger, owner: OwnerLock): Promise<App> {
  const key = loadSecretKey(config.secretKey, config.dataDir);
  const secrets = createSecretBox(key);
  try {
    // Generated now rather than at the first device that needs it: the dashboard shows its public line.
    sshIdentity(config.dataDir, secrets);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'infrapulse SSH key unavailable: devices without a credential of their own cannot log in');
  }
  const db = await openDatabase(config, log, { owner });
  const stopTrim = startMemoryTrim(config.memoryTrimSeconds, log);
  const stack: (() => Promise<void>)[] = [async () => owner.release(), () => db.close(), async () => stopTrim()];
  const stop = async () => {
    while (stack.length) await stack.pop()!().catch((err: unknown) => log.error({ err }, 'shutdown step failed'));
  };
  try {
    if (!(await matchesDatabaseKey(db.pool, key, secrets))) {
      const which = config.secretKey ? 'INFRAPULSE_SECRET_KEY' : `the secret key in ${path.join(config.dataDir, 'secret-key')}`;
      throw new StartRefusedError(`${which} differs from the key this database was first started with: give every instance on one database the same key (or rotate it with \`infrapulse rotate-key\`)`);
    }
    const adminTokenAt = await ensureAdminToken(db.prisma, config.adminToken, config.dataDir, log);
    // Redis when REDIS_URL is set: a subscriber here hears samples polled by any instance.
    const bus = await openEventBus({ redisUrl: config.redisUrl, log, onPublish: eventPublished });
    stack.push(() => bus.close());
    const services: Services = {
      config,
      db,
      events: bus.bus,
      log,
      secrets,
      startedAt: new Date(),
      version: VERSION,
      subscribers: { ws: 0, sse: 0 },
    };
    let poller: Poller | undefined;
    const detachMetrics = attachMetrics({ subscribers: services.subscribers, poller: () => poller?.stats() });
    stack.push(async () => detachMetrics());
    const retention = applyRetention(db, config.retentionDays, log);
    await retention.start();
    stack.push(() => retention.stop());
    const server = buildServer(services);
    await server.start();
    stack.push(() => server.stop());
    // Before the poller: on shutdown the poller stops first, then the evaluator drains.
    // execOn is bound late: the poller comes after the evaluator.
    const execOn: ExecOn = (deviceId, command, options) => poller?.execOn(deviceId, command, options);
    const alerts = createAlertEvaluator({ db, events: services.events, log, secrets, allowPrivateNetworks: config.notify.allowPrivateNetworks, execOn });
    await alerts.start();
    stack.push(() => alerts.stop());
    if (config.polling.enabled) {
      const p = createPoller({ config, db, events: services.events, log, secrets, onBatchWritten: alerts.onBatchWritten, onCheckResults: alerts.onCheckResults, observer: pollerObserver() });
      poller = p;
      services.poller = p;
      await p.start();
      stack.push(() => p.stop());
    }
    return { server, db, services, adminTokenAt, stop, droppedSamples: () => poller?.stats().writer.droppedRows ?? 0 };
  } catch (e) {
    await stop();
    throw e;
  }
}
