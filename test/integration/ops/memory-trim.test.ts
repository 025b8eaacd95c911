import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTrim } from '../../../src/memory-trim.ts';

const helper = (name: string) => fileURLToPath(new URL(`../../helpers/${name}`, import.meta.url));

/** Runs a helper in its own process (malloc's state is per process) and parses its last line. */
function child<T>(name: string, trimSeconds: number): T {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', helper(name)], { env: { ...process.env, TRIM_SECONDS: String(trimSeconds) }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

const run = (trimSeconds: number) => child<{ before: number; after: number; logs: { msg: string; releasedMB?: number }[] }>('fragmented-malloc.ts', trimSeconds);
const topOfHeap = (trimSeconds: number) => child<{ holding: number; freed: number }>('arena-top.ts', trimSeconds);

describe('memory trimming (src/memory-trim.ts, native/malloc-trim.c)', () => {
  it('is built by npm ci (scripts/build.ts) on this machine', () => {
    expect(loadTrim()).toHaveProperty('trim');
  });

  it('without it, free memory inside malloc arenas stays resident', () => {
    const r = run(0);
    expect(r.before - r.after).toBeLessThan(10);
    expect(r.logs.filter((l) => l.msg === 'memory trimmed')).toEqual([]);
  });

  it('returns it to the kernel every interval, and says how much', () => {
    const r = run(1);
    // ~18,750 freed 4 KB buffers in holes between kept ones: most of their ~73 MB goes back.
    expect(r.before - r.after).toBeGreaterThan(40);
    const trimmed = r.logs.filter((l) => l.msg === 'memory trimmed');
    expect(trimmed).toHaveLength(1);
    expect(trimmed[0]!.releasedMB).toBeGreaterThan(40);
  });

  // glibc raises its trim threshold to twice the largest mmapped block freed so far (a server's
  // start-up frees 3-4 MB ones), and free() then keeps that much at the top of every arena; in a
  // thread arena malloc_trim(0) never returns it. An idle server kept 5-12 MB so.
  it('without it, a freed block at the top of the heap stays once glibc has raised its threshold', () => {
    const r = topOfHeap(0);
    expect(r.holding - r.freed).toBeLessThan(8);
  });

  it('fixes the threshold at start, so free() hands such a block back at once', () => {
    // The interval is long enough that no trim runs while the child measures.
    const r = topOfHeap(3600);
    expect(r.holding - r.freed).toBeGreaterThan(12);
  });
});
