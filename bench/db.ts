/**
 * The benchmark's own database, never the user's data: with DATABASE_URL, a scratch database
 * created on that server (and dropped afterwards); without, an embedded PostgreSQL in a
 * temporary directory under DATA_DIR. Migrated like the real one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../src/db/index.ts';
import type { Logger } from '../src/log.ts';

export interface BenchDatabase {
  db: Database;
  /** Where other processes (the server under test, the poller) connect. */
  url: string;
  close(): Promise<void>;
}

export async function openBenchDatabase(opts: { databaseUrl: string | undefined; dataDir: string }, log: Logger): Promise<BenchDatabase> {
  if (opts.databaseUrl) {
    const name = `infrapulse_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: opts.databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(opts.databaseUrl);
    u.pathname = `/${name}`;
    const db = await openDatabase({ databaseUrl: u.toString(), dataDir: opts.dataDir }, log);
    return {
      db,
      url: db.url,
      async close() {
        await db.close();
        const c = new pg.Client({ connectionString: opts.databaseUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(opts.dataDir, 'bench-db-'));
  const db = await openDatabase({ databaseUrl: undefined, dataDir: dir }, log);
  return {
    db,
    url: db.url,
    async close() {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
