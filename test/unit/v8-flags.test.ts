import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FLAGS = fileURLToPath(new URL('../../src/v8-flags.ts', import.meta.url));

/** The factors of the old generation's limits V8 sets after each full collection, in a process that imports src/v8-flags.ts first or not. */
function limits(withFlags: boolean): number[] {
  const script = `${withFlags ? `await import(${JSON.stringify(FLAGS)});` : ''}
    const kept = [];
    for (let round = 0; round < 3; round++) { for (let i = 0; i < 5e5; i++) kept.push({ i }); gc(); }`;
  const out = execFileSync(process.execPath, ['--trace-gc-verbose', '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // "[HeapController] Limit: old size: 22649 KB, new limit: 46948 KB (1.3)"
  return [...out.matchAll(/\[HeapController\] Limit: .*\(([\d.]+)\)$/gm)].map((m) => Number(m[1]));
}

describe('V8 settings at start (src/v8-flags.ts)', () => {
  it('without them, V8 lets the old generation grow to several times its live size', () => {
    const factors = limits(false);
    expect(factors.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...factors)).toBeGreaterThan(1.5);
  });

  it('holds the old generation to 1.3 times what the last full collection kept', () => {
    const factors = limits(true);
    expect(factors.length).toBeGreaterThanOrEqual(3);
    expect(new Set(factors)).toEqual(new Set([1.3]));
  });
});
