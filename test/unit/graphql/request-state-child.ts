/**
 * Child process for request-state.test.ts: `requests` request contexts, each holding about 20 KB
 * of rows and its batch loaders (latestLoaders, whose closures reach the context), made one at a
 * time and dropped, under V8's sampling heap profiler keeping only objects no scavenge collected;
 * then two scavenges. Prints the bytes kept, and those of a second pass keeping every object (to
 * show the profiler saw the rows at all). Needs --expose-gc.
 */
import inspector from 'node:inspector/promises';
import type { Context } from '../../../src/graphql/context.ts';
import { latestLoaders } from '../../../src/graphql/loaders.ts';

const requests = Number(process.argv[2] ?? 2000);
const gc = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function request(): void {
  const ctx = { rows: Array.from({ length: 200 }, (_, i) => ({ i, at: new Date(i), value: i / 3 })) } as unknown as Context;
  latestLoaders(ctx);
}

const session = new inspector.Session();
session.connect();
await session.post('HeapProfiler.enable');
type Node = { selfSize: number; children: Node[] };
const total = (n: Node): number => n.selfSize + n.children.reduce((s, c) => s + total(c), 0);

async function sampled(includeObjectsCollectedByMinorGC: boolean): Promise<number> {
  await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC });
  for (let i = 0; i < requests; i++) {
    request();
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  gc!({ type: 'minor' });
  gc!({ type: 'minor' });
  const { profile } = await session.post('HeapProfiler.stopSampling');
  return total(profile.head as Node);
}

for (let i = 0; i < 200; i++) request();
const surviving = await sampled(false);
const allocated = await sampled(true);
process.stdout.write(`${JSON.stringify({ surviving, allocated })}\n`);
