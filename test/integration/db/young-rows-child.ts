/**
 * Child process for young-rows.test.ts: how many bytes of the rows queries return outlive a
 * scavenge, through a pool of createPool's (`via` pool) or on a client checked out of one
 * (`via` client, pg's promise API, as Prisma's adapter in a transaction). It runs `warm` queries of 288 rows (a day in 5-minute buckets: a date and
 * three floats each) one at a time, then `measured` more under V8's sampling heap profiler
 * keeping only objects no scavenge collected, then two scavenges, and prints those bytes; then
 * the same number under the profiler keeping every object, to show it sees the rows at all.
 * Needs --expose-gc.
 */
import inspector from 'node:inspector/promises';
import { closePool, createPool } from '../../../src/db/adapter.ts';

const [url, via, warm = '200', measured = '400'] = process.argv.slice(2) as [string, 'pool' | 'client', string?, string?];
const SQL = `SELECT now() - g * interval '5 minutes' AS bucket, g AS samples, random() AS a, random() AS b, random() AS c FROM generate_series(1, 288) g`;
const gc = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const pool = createPool(url, { max: 2 });
const client = via === 'client' ? await pool.connect() : null;
const on = client ?? pool;
for (let i = 0; i < Number(warm); i++) await on.query(SQL);
const session = new inspector.Session();
session.connect();
await session.post('HeapProfiler.enable');
type Node = { selfSize: number; children: Node[] };
const total = (n: Node): number => n.selfSize + n.children.reduce((s, c) => s + total(c), 0);

/** Bytes the profiler kept of what `measured` queries allocated. */
async function sampled(includeObjectsCollectedByMinorGC: boolean): Promise<number> {
  await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC });
  for (let i = 0; i < Number(measured); i++) await on.query(SQL);
  gc!({ type: 'minor' });
  gc!({ type: 'minor' });
  const { profile } = await session.post('HeapProfiler.stopSampling');
  return total(profile.head as Node);
}

const surviving = await sampled(false);
const allocated = await sampled(true);
process.stdout.write(`${JSON.stringify({ surviving, allocated })}\n`);
client?.release();
await closePool(pool);
