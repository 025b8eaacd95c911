import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase } from '../../helpers/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.close());

test('the template database carries every migration', async () => {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL');
  expect(rows[0]?.n).toBeGreaterThanOrEqual(3);
  expect(await db.prisma.device.count()).toBe(0);
});
