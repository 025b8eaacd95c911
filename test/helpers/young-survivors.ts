/**
 * For child processes run with --expose-gc: how many bytes of what `work` allocates outlive a
 * scavenge. V8's sampling heap profiler keeps only objects no scavenge collected while `work`
 * runs, then two scavenges run; a second pass keeps every object, to show the profiler saw the
 * allocations at all. Prints `{ surviving, allocated }` as JSON on stdout.
 */
import inspector from 'node:inspector/promises';

type Node = { selfSize: number; children: Node[] };
const total = (n: Node): number => n.selfSize + n.children.reduce((s, c) => s + total(c), 0);

export async function reportYoungSurvivors(work: () => Promise<void>): Promise<void> {
  const gc = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const session = new inspector.Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  const sampled = async (includeObjectsCollectedByMinorGC: boolean): Promise<number> => {
    await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC });
    await work();
    gc({ type: 'minor' });
    gc({ type: 'minor' });
    const { profile } = await session.post('HeapProfiler.stopSampling');
    return total(profile.head as Node);
  };
  const surviving = await sampled(false);
  const allocated = await sampled(true);
  session.disconnect();
  process.stdout.write(`${JSON.stringify({ surviving, allocated })}\n`);
}
