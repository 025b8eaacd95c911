/**
 * A process whose malloc arenas hold ~75 MB of free memory in holes: 20,000 Buffers of 4 KB
 * (their backing stores come from malloc) with every 16th kept, so free() cannot return the
 * holes from the top of the heap. With TRIM_SECONDS, startMemoryTrim runs as the server runs it.
 * Prints one JSON line: RSS (MB) once the garbage is collected, and again 1.5 s later.
 */
import { pino } from 'pino';
import { startMemoryTrim } from '../../src/memory-trim.ts';

const gc = (globalThis as { gc?: () => void }).gc!;
const rssMB = () => process.memoryUsage.rss() / 2 ** 20;
const logs: { msg: string; releasedMB?: number }[] = [];
const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

const kept: Buffer[] = [];
let all: Buffer[] | null = [];
for (let i = 0; i < 20_000; i++) {
  const b = Buffer.allocUnsafeSlow(4000).fill(i);
  all.push(b);
  if (i % 16 === 0) kept.push(b);
}
all = null;
gc();
gc();
const before = rssMB();
const stop = startMemoryTrim(Number(process.env.TRIM_SECONDS ?? 0), log as never);
await new Promise((r) => setTimeout(r, 1500));
stop();
process.stdout.write(`${JSON.stringify({ before, after: rssMB(), kept: kept.length, logs })}\n`);
