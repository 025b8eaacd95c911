/**
 * The database: PostgreSQL (or TimescaleDB) at DATABASE_URL, or an embedded PostgreSQL under
 * DATA_DIR; migrated at open; one pg pool shared by Prisma and the storage layer's raw SQL.
 */
import pg from 'pg';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { PrismaClient } from './generated/client.ts';
import { closePool, createPool } from './adapter.ts';
import { createPrismaClient } from './client.ts';
import { embeddedUrl, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';
import { migrateDeploy } from './migrate.ts';
import { acquireOwnerLock, currentOwner, type OwnerLock } from './owner.ts';

export { PrismaClient, createPrismaClient };
export type * from './generated/client.ts';

/**
 * A unique constraint refused the write: Prisma's P2002, PostgreSQL's 23505 where the error
 * comes from pg directly, or the server's message where a raw statement wraps it otherwise.
 */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  return err?.code === 'P2002' || err?.code === '23505' || (typeof err?.message === 'string' && /unique constraint/i.test(err.message));
}

export interface Database {
  prisma: PrismaClient;
  /** For the storage layer's hot paths and LISTEN; the same server Prisma talks to. */
  pool: pg.Pool;
  url: string;
  /** TimescaleDB's version when the extension is in use, else null. */
  timescale: string | null;
  embedded: boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Connection attempts before giving up on an unreachable server. */
  attempts?: number;
  /** First retry delay; doubles up to 8 s. */
  retryDelayMs?: number;
  /**
   * The DATA_DIR owner lock this process already holds (serve); without one, opening the
   * embedded PostgreSQL takes the lock for as long as the database is open, as `command`.
   */
  owner?: OwnerLock;
  command?: string;
}

export function describeServer(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
}

async function waitForServer(url: string, log: Logger, { attempts = 6, retryDelayMs = 1000 }: OpenOptions): Promise<void> {
  let delay = retryDelayMs;
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (e) {
      await client.end().catch(() => undefined);
      const reason = (e as Error).message || (e as NodeJS.ErrnoException).code || String(e);
      if (attempt >= attempts) {
        throw new Error(`cannot reach PostgreSQL at ${describeServer(url)}: ${reason} (gave up after ${attempts} attempts)`);
      }
      log.warn({ server: describeServer(url), attempt, retryInMs: delay }, `cannot reach PostgreSQL: ${reason}; retrying`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 8000);
    }
  }
}

export async function detectTimescale(pool: pg.Pool): Promise<string | null> {
  const { rows } = await pool.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
  return rows[0]?.extversion ?? null;
}

export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'> & Partial<Pick<Config, 'databaseConnectAttempts'>>, log: Logger, options: OpenOptions = {}): Promise<Database> {
  // Only the owner of DATA_DIR may start, stop or recover its embedded PostgreSQL.
  const ownLock = config.databaseUrl || options.owner ? undefined : acquireOwnerLock(config.dataDir, options.command ?? 'command');
  let embedded: EmbeddedPostgres | undefined;
  try {
    embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, log);
    const url = config.databaseUrl ?? embedded!.url;
    await waitForServer(url, log, { attempts: config.databaseConnectAttempts, ...options });
    const started = Date.now();
    const applied = await migrateDeploy(url);
    log.info({ applied, ms: Date.now() - started }, applied.length ? 'database migrated' : 'database schema up to date');
    // Other commands may use it from now on (openSharedDatabase): it is migrated.
    if (embedded) (options.owner ?? ownLock)?.recordPort(embedded.port);
    const db = connect(url, Boolean(embedded), log);
    const timescale = await detectTimescale(db.pool);
    return {
      ...db,
      timescale,
      async close() {
        await db.close();
        await embedded?.stop();
        ownLock?.release();
      },
    };
  } catch (e) {
    await embedded?.stop();
    ownLock?.release();
    throw e;
  }
}

/** Pool and Prisma client on a migrated database; close() ends them (nothing else). */
function connect(url: string, embedded: boolean, log: Logger): Omit<Database, 'timescale'> {
  // A host that drops packets must not hang a flush: fail the connect and let the writer retry.
  const pool = createPool(url, { max: 20, connectionTimeoutMillis: 5000 }, (err) => log.warn({ err: err.message }, 'idle database connection failed'));
  const prisma = createPrismaClient(pool);
  return {
    prisma,
    pool,
    url,
    embedded,
    async close() {
      await prisma.$disconnect().catch(() => undefined);
      await closePool(pool).catch(() => undefined);
    },
  };
}

/**
 * For a command that only needs to read or write rows (`token create`): while a server owns
 * DATA_DIR, its embedded PostgreSQL (at the port the owner recorded), untouched and not
 * migrated (the server did that); otherwise the database as openDatabase opens it.
 */
export async function openSharedDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'> & Partial<Pick<Config, 'databaseConnectAttempts'>>, log: Logger, command: string): Promise<Database> {
  const owner = config.databaseUrl ? undefined : currentOwner(config.dataDir);
  if (!owner) return openDatabase(config, log, { command });
  if (owner.postgresPort === null) {
    throw new Error(`DATA_DIR ${config.dataDir} belongs to infrapulse ${owner.command} (pid ${owner.pid}), whose database is not up yet; try again in a moment`);
  }
  const url = embeddedUrl(config.dataDir, owner.postgresPort);
  await waitForServer(url, log, { attempts: 3 });
  const db = connect(url, true, log);
  return { ...db, timescale: await detectTimescale(db.pool) };
}
