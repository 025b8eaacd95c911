/**
 * Issue #16 item 4 (the query tail): a request's state dies with the request. Batch loaders
 * kept in a WeakMap keyed by the context kept every request (its rows, its results) through
 * every scavenge of the API server: while a WeakMap's key is young V8's scavenger keeps its
 * value, and a loader's closure reaches the context. perRequest keeps them on the context.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';

test('2,000 request contexts with their batch loaders do not outlive a scavenge', () => {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(import.meta.dirname, 'request-state-child.ts'), '2000'], { encoding: 'utf8', timeout: 60_000 });
  const { surviving, allocated } = JSON.parse(out) as { surviving: number; allocated: number };
  // The profiler saw the requests: 2,000 × 200 rows and their loaders are well over 20 MB.
  expect(allocated / 2 ** 20).toBeGreaterThan(20);
  expect(surviving / 2 ** 20).toBeLessThan(2);
}, 90_000);
