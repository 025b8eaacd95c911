/**
 * Issue #16 item 4 (the query tail): what a GraphQL request allocates dies with the request. A
 * request's objects that outlive two scavenges are promoted and wait in the old generation for
 * a full collection, and each scavenge pays for copying them. Two paths kept 10-19 % of
 * everything a request allocated that way: Yoga's own body-size cap, which piped every body
 * through a TransformStream (http.ts caps it first), and a Prisma query, which the device list
 * made for its page of ids (docs/benchmarks.md, *A body read twice*).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase } from '../../helpers/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.prisma.device.createMany({ data: Array.from({ length: 150 }, (_, i) => ({ name: `d-${String(i).padStart(3, '0')}`, hostname: `10.0.${i >> 8}.${i & 255}`, tags: ['a', 'b'] })) });
});
afterAll(() => db.close());

const survivors = (query: string, measured: number): { surviving: number; allocated: number } =>
  JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(import.meta.dirname, 'young-requests-child.ts'), db.url, query, '50', String(measured)], { encoding: 'utf8', timeout: 120_000 })) as never;

// Share of the allocated bytes that outlived a scavenge, measured before the change: 9.6 % and
// 19.3 %; after it 3.8 % and 1.4 %.
test.each([
  ['the smallest query', '{ __typename }', 2000, 0.06],
  ['a page of 150 devices', '{ devices(first: 150) { totalCount edges { node { id name hostname status tags lastSeenAt } } } }', 200, 0.03],
])('%s: what its requests allocate does not outlive them', (_name: string, query: string, measured: number, bound: number) => {
  const { surviving, allocated } = survivors(query, measured);
  // The profiler saw the requests at all: each allocates tens of KB at least.
  expect(allocated / measured).toBeGreaterThan(10_000);
  expect(surviving / allocated).toBeLessThan(bound);
}, 150_000);
