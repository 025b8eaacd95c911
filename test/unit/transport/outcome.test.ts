// collectedResult decodes a stream's chunks as the whole stream would decode, whatever their sizes
// and wherever a chunk ends (inside a character, inside bytes that are no UTF-8).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { collectedResult } from '../../../src/transport/outcome.ts';

/** `bytes` cut into chunks at the given offsets, as a socket might deliver them. */
const cut = (bytes: Buffer, ...at: number[]): Buffer[] => [0, ...at].map((from, i) => bytes.subarray(from, at[i] ?? bytes.length));

describe('collectedResult', () => {
  it('ASCII in several chunks: the text whole, in order', () => {
    const text = `${'a'.repeat(20_000)}\n@@ipb:x:0\n${'b'.repeat(13_000)}`;
    const r = collectedResult(cut(Buffer.from(text), 16_384, 32_000), [Buffer.from('warn\n')], 0);
    expect(r).toEqual({ stdout: text, stderr: 'warn\n', code: 0 });
  });

  it('a multi-byte character split between two chunks stays one character', () => {
    const bytes = Buffer.from('temp 42 °C, Größe 1 TiB ✓');
    for (let at = 1; at < bytes.length; at++) expect(collectedResult(cut(bytes, at), [], null).stdout).toBe('temp 42 °C, Größe 1 TiB ✓');
  });

  it('bytes that are no UTF-8 decode as the whole stream does, replacement characters included', () => {
    const garbage = randomBytes(100_000);
    expect(collectedResult(cut(garbage, 1, 33_333, 65_536), cut(garbage, 50_000), 1).stdout).toBe(garbage.toString('utf8'));
  });

  it('output larger than the buffer the chunks are joined in, then smaller again: each decoded on its own', () => {
    const big = Buffer.from('ä'.repeat(700_000)); // 1.4 MB
    const medium = Buffer.from(`${'m'.repeat(200_000)}✓`);
    const small = Buffer.from('tail ✓');
    expect(collectedResult(cut(big, 65_537, 1_000_001), [], 0).stdout).toBe(big.toString('utf8'));
    expect(collectedResult(cut(medium, 100_000), [], 0).stdout).toBe(medium.toString('utf8'));
    expect(collectedResult(cut(small, 3), [], 0).stdout).toBe('tail ✓');
  });

  it('no chunks at all: empty text', () => {
    expect(collectedResult([], [], 0)).toEqual({ stdout: '', stderr: '', code: 0 });
  });
});
