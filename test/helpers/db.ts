/** A fresh, migrated database per test file, cloned from the run's template. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { closePool, createPool } from '../../src/db/adapter.ts';
import { createPrismaClient, detectTimescale, type Database } from '../../src/db/index.ts';

export function databaseUrl(database: string): string {
  const u = new URL(inject('adminDatabaseUrl'));
  u.pathname = `/${database}`;
  return u.toString();
}

/** Names carry the template's pid so the run's teardown finds and drops them. */
export async function createTestDatabase(): Promise<Database & { name: string }> {
  const template = inject('templateDatabase');
  const name = `infrapulse_t${template.split('_').at(-1)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  await admin.end();
  const url = databaseUrl(name);
  const pool = createPool(url, { max: 10 });
  const prisma = createPrismaClient(pool);
  return {
    name,
    url,
    pool,
    prisma,
    timescale: await detectTimescale(pool),
    embedded: false,
    async close() {
      await prisma.$disconnect();
      // Closed for real before the DROP: a session still closing would be terminated by it (57P01).
      await closePool(pool);
      const c = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
