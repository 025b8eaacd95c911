/**
 * Child process: the real server (buildServer) on a given database, so a test can flood it,
 * read its RSS and see whether it is still alive (a crash ends this process, not the test
 * runner). Messages are the ServerChild protocol of server-process.ts.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createPool } from '../../src/db/adapter.ts';
import { createPrismaClient, detectTimescale } from '../../src/db/index.ts';
import { createSecretBox } from '../../src/db/secrets.ts';
import { createEventBus, toWire } from '../../src/events/index.ts';
import type { Services } from '../../src/graphql/context.ts';
import { createLogger } from '../../src/log.ts';
import { attachMetrics } from '../../src/metrics.ts';
import { buildServer } from '../../src/server/index.ts';
import { createApiToken } from '../../src/tokens.ts';
import { bigSample, type FromChild, type ToChild, type ChildStart } from './server-process.ts';

const send = (m: FromChild): void => void process.send?.(m);

async function main(start: ChildStart): Promise<void> {
  const pool = createPool(start.databaseUrl, { max: 4 });
  const prisma = createPrismaClient(pool);
  const { token } = await createApiToken(prisma, { name: 'child admin', role: 'ADMIN' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-child-'));
  const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, DATABASE_URL: start.databaseUrl, LOG_LEVEL: 'silent', POLLING_ENABLED: 'false', ...start.env });
  const events = createEventBus();
  const services: Services = {
    config,
    db: { prisma, pool, url: start.databaseUrl, timescale: await detectTimescale(pool), embedded: false, close: async () => undefined },
    events,
    log: createLogger('silent'),
    secrets: createSecretBox(randomBytes(32)),
    startedAt: new Date(),
    version: 'test',
    subscribers: { ws: 0, sse: 0 },
  };
  attachMetrics({ subscribers: services.subscribers });
  const server = buildServer(services);
  await server.start();
  let seq = 0;
  process.on('message', (m: ToChild) => {
    switch (m.type) {
      case 'publish':
        for (let i = 0; i < m.count; i++) {
          seq++;
          events.publish('metricCollected', { deviceId: m.deviceId, sample: toWire(bigSample(m.deviceId, seq, m.cores)) });
        }
        send({ type: 'published', total: seq });
        break;
      case 'usage': {
        (globalThis as { gc?: () => void }).gc?.();
        const u = process.memoryUsage();
        send({ type: 'usage', rss: u.rss, heapUsed: u.heapUsed, external: u.external });
        break;
      }
      case 'stop':
        void server.stop().finally(() => {
          fs.rmSync(dataDir, { recursive: true, force: true });
          process.exit(0);
        });
    }
  });
  send({ type: 'ready', url: server.url, token });
}

process.once('message', (m: ChildStart) => {
  main(m).catch((e: unknown) => {
    send({ type: 'error', message: (e as Error).stack ?? String(e) });
    process.exit(1);
  });
});
