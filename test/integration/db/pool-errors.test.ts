/**
 * Issue 14, item 14: a pool's idle connections ended by the server (DROP DATABASE … WITH
 * (FORCE), a PostgreSQL shutdown) must not crash the process, and what is printed about it
 * never carries the connection's password; closing a pool waits until the server has let go
 * of its sessions, so dropping the database right after cannot race them.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, inject } from 'vitest';
import { closePool, createPool } from '../../../src/db/adapter.ts';
import { scrubText } from '../../../src/log.ts';
import { createTestDatabase } from '../../helpers/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.close());

/** Sessions on the test database under one application_name: other tests' sessions do not count. */
const sessions = async (admin: pg.Client, application: string): Promise<number> => {
  const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [db.name, application]);
  return rows[0]!.n;
};

describe('pool connections the server ends', () => {
  test('idle connections terminated by the server do not crash the process nor print the password', { timeout: 60_000 }, async () => {
    const password = new URL(db.url).password;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'idle-error-child.ts'), db.url, inject('adminDatabaseUrl')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(out).toContain('survived');
    expect(code).toBe(0);
    if (password) expect(out).not.toContain(decodeURIComponent(password));
  });

  test('closePool resolves once the server has no session of the pool left', async () => {
    const application = 'pool-errors-close';
    const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') }); // connected before, so the count follows the close at once
    await admin.connect();
    try {
      const pool = createPool(db.url, { max: 5, application_name: application });
      // Temporary tables make each session's exit slow (the server drops them first, about 130
      // ms for 200 here): after pool.end() alone all five are still there.
      const slowExit = `DO $$ BEGIN PERFORM pg_sleep(0.05); FOR i IN 1..200 LOOP EXECUTE format('CREATE TEMP TABLE t%s (x int)', i); END LOOP; END $$`;
      await Promise.all([0, 1, 2, 3, 4].map(() => pool.query(slowExit)));
      expect(await sessions(admin, application)).toBe(5);
      await closePool(pool);
      expect(await sessions(admin, application)).toBe(0);
    } finally {
      await admin.end();
    }
  });
});

describe('passwords in printed text', () => {
  test('scrubText (used for start-up, migration and command errors) hides URL passwords and keeps the rest', () => {
    const text = 'cannot reach postgresql://postgres:s3cr%2Ft@127.0.0.1:5432/db and redis://:hunter2@10.0.0.1:6379';
    const scrubbed = scrubText(text);
    expect(scrubbed).not.toMatch(/s3cr|hunter2/);
    expect(scrubbed).toContain('@127.0.0.1:5432/db');
    expect(scrubText('postgresql://u@h:5432/d')).toBe('postgresql://u@h:5432/d');
  });
});
