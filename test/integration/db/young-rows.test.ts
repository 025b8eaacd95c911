/**
 * Issue #16 item 4 (the query tail): rows a query returned die young. The API server answers a
 * request in a few milliseconds, so what it reads should never outlive a scavenge; rows that
 * do are copied, then promoted, and wait in the old generation for a full collection. In the
 * query bench every scavenge of the API server promoted 1.5-3 MB this way and paused 6-12 ms.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase } from '../../helpers/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

test.each(['pool', 'client'])('the rows of 400 queries one at a time (through the %s) do not outlive a scavenge', (via) => {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(import.meta.dirname, 'young-rows-child.ts'), db.url, via], { encoding: 'utf8', timeout: 60_000 });
  const { surviving, allocated } = JSON.parse(out) as { surviving: number; allocated: number };
  // The profiler saw the rows: 400 × 288 of them are about 30 MB.
  expect(allocated / 2 ** 20).toBeGreaterThan(15);
  // Of those, only the pool's own few objects survive.
  expect(surviving / 2 ** 20).toBeLessThan(2);
}, 90_000);
