/**
 * How a command's run ends, said once for every runner (local.ts, ssh-exec.ts, ssh-shell.ts): its
 * output decoded, or the timeout and output-limit errors. Apart from types.ts, which the
 * dashboard's type check reads without Node's types.
 */
import { isAscii } from 'node:buffer';
import { TransportError, type ExecResult } from './types.ts';

/** An exec (or script) ran past its timeout; `where` names the transport (`ssh host:port`, `local`). */
export const timedOut = (where: string, timeoutMs: number): TransportError =>
  new TransportError('TIMEOUT', `${where}: command timed out after ${timeoutMs} ms`);

/** An exec (or script) printed more than its limit. */
export const printedTooMuch = (where: string, maxOutputBytes: number): TransportError =>
  new TransportError('OUTPUT_LIMIT', `${where}: command printed more than ${maxOutputBytes} bytes`);

/**
 * A stream's chunks as text. Output that is all ASCII (a poll's, as a rule) is decoded chunk by
 * chunk and joined in V8's heap; Buffer.concat first copied a poll's 30-odd KB into a fresh
 * buffer outside it (malloc, page faults, the garbage collector's external-memory accounting):
 * 1.8 % of the 1,000-device poller's JavaScript time. Anything else is decoded whole, so a
 * character split between two chunks stays one character.
 */
function decode(chunks: readonly Buffer[]): string {
  if (chunks.length === 1) return chunks[0]!.toString('utf8');
  for (const c of chunks) if (!isAscii(c)) return Buffer.concat(chunks).toString('utf8');
  return chunks.map((c) => c.toString('latin1')).join('');
}

/** What a command printed on each stream, decoded, with its exit code. */
export const collectedResult = (stdout: Buffer[], stderr: Buffer[], code: number | null): ExecResult => ({
  stdout: decode(stdout),
  stderr: decode(stderr),
  code,
});
