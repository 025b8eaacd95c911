/**
 * Issue 14, item 8: two instances on one database with different INFRAPULSE_SECRET_KEYs. The
 * first start stores a key check value; an instance whose key does not match refuses to start
 * with one line (instead of marking the other's devices AUTH_FAILED). Two real `serve`s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase } from '../../helpers/db.ts';
import { cli, serve as start, type Serving } from './support.ts';

const KEY_A = 'a1'.repeat(32);
const KEY_B = 'b2'.repeat(32);
const dirs: string[] = [];
const dataDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-keycheck-'));
  dirs.push(d);
  return d;
};
let db: Awaited<ReturnType<typeof createTestDatabase>>;
const running: Serving[] = [];
const serve = async (env: Record<string, string>): Promise<Serving> => {
  const s = await start(env);
  running.push(s);
  return s;
};

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const s of running) await s.stop();
  await db?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('secret key check', () => {
  test('an instance with another key refuses to start; one with the same key starts', { timeout: 600_000 }, async () => {
    const first = await serve({ DATABASE_URL: db.url, DATA_DIR: dataDir(), INFRAPULSE_SECRET_KEY: KEY_A });
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM key_check');
    expect(rows[0]?.n).toBe(1);

    const other = cli(['serve'], { DATABASE_URL: db.url, DATA_DIR: dataDir(), INFRAPULSE_SECRET_KEY: KEY_B, PORT: '0' });
    expect(await other.exited).toBe(1);
    const lines = other.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      'infrapulse: INFRAPULSE_SECRET_KEY differs from the key this database was first started with: give every instance on one database the same key (or rotate it with `infrapulse rotate-key`)',
    );

    // A generated key (DATA_DIR/secret-key) is a different key too, and says where it came from.
    const generated = dataDir();
    const third = cli(['serve'], { DATABASE_URL: db.url, DATA_DIR: generated, PORT: '0' });
    expect(await third.exited).toBe(1);
    expect(third.output().trim()).toBe(
      `infrapulse: the secret key in ${path.join(generated, 'secret-key')} differs from the key this database was first started with: give every instance on one database the same key (or rotate it with \`infrapulse rotate-key\`)`,
    );

    const same = await serve({ DATABASE_URL: db.url, DATA_DIR: dataDir(), INFRAPULSE_SECRET_KEY: KEY_A });
    expect(await same.stop()).toBe(0);
    expect(await first.stop()).toBe(0);
  });
});
