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

/** What a command printed on each stream, decoded, with its exit code. */
export const collectedResult = (stdout: Buffer[], stderr: Buffer[], code: number | null): ExecResult => ({
  stdout: Buffer.concat(stdout).toString('utf8'),
  stderr: Buffer.concat(stderr).toString('utf8'),
  code,
});
