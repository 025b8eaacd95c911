/**
 * How a command's run ends, said once for every runner (local.ts, ssh-exec.ts, ssh-shell.ts): its
 * output decoded, or the timeout and output-limit errors. Apart from types.ts, which the
 * dashboard's type check reads without Node's types.
 */
import { TransportError, type ExecResult } from './types.ts';

/** An exec (or script) ran past its timeout; `where` names the transport (`ssh host:port`, `local`). */
export const timedOut = (where: string, timeoutMs: number): TransportError =>
  new TransportError('TIMEOUT', `${where}: command timed out after ${timeoutMs} ms`);

/** An exec (or script) printed more than its limit. */
export const printedTooMuch = (where: string, maxOutputBytes: number): TransportError =>
  new TransportError('OUTPUT_LIMIT', `${where}: command printed more than ${maxOutputBytes} bytes`);

/** Where a stream's chunks are joined before they are decoded; made at the first use and grown as needed, up to SCRATCH_MAX. */
let scratch = Buffer.alloc(0);
const SCRATCH_MAX = 1 << 20;

/**
 * A stream's chunks as text, decoded whole, so a character split between two chunks stays one
 * character. They are joined in a buffer kept for it: Buffer.concat copied each poll's 30-odd KB
 * into a fresh one outside V8's heap (malloc, page faults, the garbage collector's
 * external-memory accounting), 1.8 % of the 1,000-device poller's JavaScript time; decoding
 * chunk by chunk and joining the strings allocated the text twice in V8's heap. Synchronous, so
 * one buffer serves every stream; output larger than SCRATCH_MAX is joined on its own.
 */
function decode(chunks: readonly Buffer[]): string {
  if (chunks.length === 1) return chunks[0]!.toString('utf8');
  let bytes = 0;
  for (const c of chunks) bytes += c.length;
  if (bytes > SCRATCH_MAX) return Buffer.concat(chunks, bytes).toString('utf8');
  if (bytes > scratch.length) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, 2 ** Math.ceil(Math.log2(bytes))));
  let at = 0;
  for (const c of chunks) at += c.copy(scratch, at);
  return scratch.toString('utf8', 0, bytes);
}

/** What a command printed on each stream, decoded, with its exit code. */
export const collectedResult = (stdout: Buffer[], stderr: Buffer[], code: number | null): ExecResult => ({
  stdout: decode(stdout),
  stderr: decode(stderr),
  code,
});
