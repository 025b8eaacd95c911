/**
 * A process that frees 16 MB at the top of its malloc heap after glibc has raised its trim
 * threshold. Freeing one mmapped 20 MB block (a server's start-up frees a few MB ones) makes glibc
 * keep up to twice that of free memory at the top of every arena from then on. malloc_trim(0)
 * would give the main arena's back at the next interval, never a thread arena's; this process
 * uses the main arena because it is the one a test can place memory in, and measures before any
 * trim runs. With TRIM_SECONDS, startMemoryTrim runs as the server runs it. Prints one JSON line:
 * RSS (MB) while the block is held and once it is freed.
 */
import { pino } from 'pino';
import { startMemoryTrim } from '../../src/memory-trim.ts';

const gc = (globalThis as { gc?: () => void }).gc!;
const rssMB = () => process.memoryUsage.rss() / 2 ** 20;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drops `block` and collects until RSS falls by `mb` (V8 frees an ArrayBuffer some collections after it died), or 5 s. */
async function release(block: { b: Buffer | null }, mb: number): Promise<number> {
  const held = rssMB();
  block.b = null;
  for (let i = 0; i < 50 && rssMB() > held - mb; i++) {
    gc();
    await pause(100);
  }
  return rssMB();
}

const mmapped = { b: Buffer.allocUnsafeSlow(20 << 20).fill(1) as Buffer | null };
const withMmapped = rssMB();
if ((await release(mmapped, 15)) > withMmapped - 15) throw new Error('the mmapped 20 MB block was never freed');

const stop = startMemoryTrim(Number(process.env.TRIM_SECONDS ?? 0), pino({ level: 'warn' }));
const top = { b: Buffer.allocUnsafeSlow(16 << 20).fill(2) as Buffer | null };
const holding = rssMB();
const freed = await release(top, 12);
stop();
process.stdout.write(`${JSON.stringify({ holding, freed })}\n`);
