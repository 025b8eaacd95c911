/**
 * One PostgreSQL for the whole run: TEST_DATABASE_URL's server when given (CI points it at
 * the machine's PostgreSQL), else an embedded one in a temporary directory. A template
 * database is migrated once; each test file clones it (test/helpers/db.ts), which is fast.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensureDashboardBuilt } from '../../src/dashboard/build.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrateDeploy } from '../../src/db/migrate.ts';
import { scrubText } from '../../src/log.ts';
import { createLogger } from '../../src/log.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

const TEMPLATE = `infrapulse_template_${process.pid}`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = createLogger('warn');
  const given = process.env.TEST_DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;
  let adminUrl: string;
  if (given) {
    adminUrl = given;
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-test-'));
    fs.chmodSync(dataDir, 0o755);
    const embedded = await startEmbeddedPostgres(dataDir, log);
    adminUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`TEST_DATABASE_URL=${scrubText(given ?? '')} is not reachable (${(e as Error).message}); start PostgreSQL or unset it to use an embedded one`);
  }
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE}`);
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  await admin.end();
  await migrateDeploy(withDatabase(adminUrl, TEMPLATE));
  // Once here rather than by each test file's server: parallel forks would build side by side.
  await ensureDashboardBuilt();

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', TEMPLATE);

  return async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'infrapulse_t%' AND datname LIKE $1", [`%${process.pid}%`]);
    for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await c.end();
    await stopEmbedded?.();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
