/** A real server on port 0 over a fresh test database, with an admin token; no poller. */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/index.ts';
import { createSecretBox } from '../../src/db/secrets.ts';
import { createEventBus } from '../../src/events/index.ts';
import type { Services } from '../../src/graphql/context.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { buildServer, type ServerHandle } from '../../src/server/index.ts';
import { createApiToken } from '../../src/tokens.ts';
import { createTestDatabase } from './db.ts';

export interface TestApp {
  server: ServerHandle;
  services: Services;
  db: Database;
  adminToken: string;
  /** POST a GraphQL operation with a token (the admin's unless given). */
  gql<T = unknown>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<{ status: number; body: { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] } }>;
  close(): Promise<void>;
}

/** `db`: a database of the test's own (closed by the caller), e.g. one it stops for an outage. `log`: where the server logs (default: nowhere). */
export async function startTestApp(env: Record<string, string> = {}, options: { db?: Database; log?: Logger } = {}): Promise<TestApp> {
  const db = options.db ?? (await createTestDatabase());
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-app-'));
  const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, DATABASE_URL: db.url, LOG_LEVEL: 'silent', POLLING_ENABLED: 'false', ...env });
  const services: Services = {
    config,
    db,
    events: createEventBus(),
    log: options.log ?? createLogger('silent'),
    secrets: createSecretBox(randomBytes(32)),
    startedAt: new Date(),
    version: 'test',
    subscribers: { ws: 0, sse: 0 },
  };
  const server = buildServer(services);
  await server.start();
  const { token: adminToken } = await createApiToken(db.prisma, { name: 'test admin', role: 'ADMIN' });
  return {
    server,
    services,
    db,
    adminToken,
    async gql(query, variables, token = adminToken) {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    async close() {
      await server.stop();
      if (!options.db) await db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
