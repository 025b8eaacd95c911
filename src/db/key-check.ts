/**
 * The secret key check (migration 20261202030000_key_check): the first instance to start on a
 * database stores a value derived from its INFRAPULSE_SECRET_KEY; every later start compares.
 * Instances with different keys would otherwise each fail to decrypt what the others sealed,
 * marking their devices AUTH_FAILED with nothing pointing at the cause.
 */
import { createHmac } from 'node:crypto';
import type pg from 'pg';
import type { SecretBox } from './secrets.ts';

const LABEL = 'infrapulse secret key check v1';

export function keyCheckValue(key: Buffer): string {
  return createHmac('sha256', key).update(LABEL).digest('hex');
}

/** Runs a statement: a pool or a Prisma transaction's `$executeRawUnsafe`-like function. */
type Query = (sql: string, params: unknown[]) => Promise<unknown>;

/** Stores `key`'s check value, replacing any other (after rotate-key re-sealed everything). */
export async function storeKeyCheck(query: Query, key: Buffer): Promise<void> {
  await query('INSERT INTO key_check (id, value) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value, created_at = now()', [keyCheckValue(key)]);
}

/**
 * Whether `key` is this database's key. With no value stored yet (first start, or a database
 * from before the check existed), a secret already sealed decides: if the key cannot open it,
 * the key is wrong; otherwise the value is stored and the key is the database's from now on.
 */
export async function matchesDatabaseKey(pool: pg.Pool, key: Buffer, secrets: SecretBox): Promise<boolean> {
  const stored = await pool.query<{ value: string }>('SELECT value FROM key_check WHERE id = 1');
  if (stored.rows[0]) return stored.rows[0].value === keyCheckValue(key);
  const sealed = await pool.query<{ secret: Buffer }>(
    `SELECT encrypted_secret AS secret FROM credentials
     UNION ALL SELECT encrypted_secret FROM notification_channels WHERE encrypted_secret IS NOT NULL
     LIMIT 1`,
  );
  if (sealed.rows[0]) {
    try {
      secrets.decrypt(sealed.rows[0].secret);
    } catch {
      return false;
    }
  }
  // Of two instances starting together the first insert wins; the other compares with it.
  await pool.query('INSERT INTO key_check (id, value) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [keyCheckValue(key)]);
  const now = await pool.query<{ value: string }>('SELECT value FROM key_check WHERE id = 1');
  return now.rows[0]?.value === keyCheckValue(key);
}
