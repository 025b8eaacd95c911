/**
 * Child process for young-requests.test.ts: the real server (buildServer) on the test's
 * database, and `measured` GraphQL requests over HTTP one at a time after `warm` of them; how
 * many bytes of what they allocate outlive a scavenge (test/helpers/young-survivors.ts). The
 * client is node:http's, which keeps nothing of its own. Needs --expose-gc.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../../src/config.ts';
import { closePool, createPool } from '../../../src/db/adapter.ts';
import { createPrismaClient, detectTimescale } from '../../../src/db/index.ts';
import { createSecretBox } from '../../../src/db/secrets.ts';
import { createEventBus } from '../../../src/events/index.ts';
import { createLogger } from '../../../src/log.ts';
import { buildServer } from '../../../src/server/index.ts';
import { createApiToken } from '../../../src/tokens.ts';
import { reportYoungSurvivors } from '../../helpers/young-survivors.ts';

const [url, query, warm = '50', measured = '200'] = process.argv.slice(2) as [string, string, string?, string?];
const pool = createPool(url, { max: 4 });
const prisma = createPrismaClient(pool);
const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: '/tmp', LOG_LEVEL: 'silent', POLLING_ENABLED: 'false', DATABASE_URL: url });
const db = { prisma, pool, url, timescale: await detectTimescale(pool), embedded: false, close: async () => undefined };
const server = buildServer({ config, db, events: createEventBus(), log: createLogger('silent'), secrets: createSecretBox(randomBytes(32)), startedAt: new Date(), version: 'test', subscribers: { ws: 0, sse: 0 } });
await server.start();
const { token } = await createApiToken(prisma, { name: 'young requests', role: 'VIEWER' });
const body = JSON.stringify({ query });

const post = (): Promise<void> =>
  new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200 || text.includes('"errors"')) reject(new Error(`request failed (${res.statusCode}): ${text.slice(0, 300)}`));
        else resolve();
      });
    });
    req.on('error', reject);
    req.end(body);
  });

for (let i = 0; i < Number(warm); i++) await post();
await reportYoungSurvivors(async () => {
  for (let i = 0; i < Number(measured); i++) await post();
});
await server.stop();
await prisma.$disconnect();
await closePool(pool);
