import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FLAGS = fileURLToPath(new URL('../../src/v8-flags.ts', import.meta.url));
const MB = 1024;

interface Limit {
  /** What the full collection kept, KB. */
  oldKB: number;
  factor: number;
}

/**
 * The old generation's limits V8 sets after each full collection, in a process that imports
 * src/v8-flags.ts first or not, and keeps about 12 MB more after each of `rounds` forced
 * collections. Between them it yields, so the module's observer of full collections runs.
 */
function limits(withFlags: boolean, rounds: number): Limit[] {
  const script = `${withFlags ? `await import(${JSON.stringify(FLAGS)});` : ''}
    const kept = [];
    for (let round = 0; round < ${rounds}; round++) {
      for (let i = 0; i < 5e5; i++) kept.push({ i });
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }`;
  const out = execFileSync(process.execPath, ['--trace-gc-verbose', '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // "[HeapController] Limit: old size: 22649 KB, new limit: 46948 KB (1.3)"
  return [...out.matchAll(/\[HeapController\] Limit: old size: (\d+) KB, new limit: \d+ KB \(([\d.]+)\)$/gm)].map((m) => ({ oldKB: Number(m[1]), factor: Number(m[2]) }));
}

describe('V8 settings at start (src/v8-flags.ts)', () => {
  it('without them, V8 lets the old generation grow to several times its live size', () => {
    const factors = limits(false, 3).map((l) => l.factor);
    expect(factors.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...factors)).toBeGreaterThan(1.5);
  });

  it('leaves a small heap to V8, and holds one past 44 MB live to 1.3 times what the last full collection kept', () => {
    const all = limits(true, 8);
    // The setting is read after each full collection and applies to the next one's limit.
    const afterSmall = all.slice(1).filter((_, i) => all[i]!.oldKB < 36 * MB);
    const afterLarge = all.slice(1).filter((_, i) => all[i]!.oldKB > 52 * MB);
    expect(afterSmall.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...afterSmall.map((l) => l.factor))).toBeGreaterThan(1.5);
    expect(afterLarge.length).toBeGreaterThanOrEqual(2);
    expect(new Set(afterLarge.map((l) => l.factor))).toEqual(new Set([1.3]));
  });
});
