/**
 * One exec for several collectors of a poll. Each exec costs a session channel (open, exec
 * request, data, exit status, EOF, close: a socket write and a padding draw per packet on both
 * sides); a device-poll of three collectors as one exec pays that once.
 *
 * `createExecBatch` hands each collector of a poll its own CommandRunner. The first exec of
 * every collector is held until each collector has either asked for its first exec or finished
 * without one, then all of them go out as one `sh` script (buildBatchScript); its output is split
 * back into one ExecResult per collector (splitBatchOutput). A single command goes out as a batch
 * of one too, for the gathering below (at default intervals most polls are one collector's:
 * containers every 30 s); a collector's later execs go straight to the device's runner. A
 * TransportError of the batch (timeout, lost connection) fails every collector in it, as it would
 * have failed each of their execs on the same connection; a section's own failure (exit 127,
 * permission denied, stderr) stays that section's.
 *
 * The format, one source for both ends (the fleet simulator answers it through parseBatchScript
 * and renderBatchOutput):
 *
 *   # infrapulse batch: <length of section 0>,<length of section 1>,…
 *   __ipb_n=<nonce>
 *   __ipb_b() { … }  __ipb_e() { … }       print the markers on stdout and stderr
 *   __ipb_z() { … }                         prints the end line (batchEnd) on both
 *   __ipb_r() {
 *   __ipb_b 0
 *   (
 *   <command 0, verbatim>
 *   )
 *   __ipb_e 0 $?
 *   …
 *   }
 *   __ipb_a() { __ipb_r </dev/null; __ipb_z; }
 *   <run __ipb_a with each of its streams through `dd` (DELIVERY), or as it is without dd>
 *
 * Over SSH the script is written to the shell the runner keeps open on the connection
 * (ssh-shell.ts) rather than sent as an exec: the end line, last on both streams, says when its
 * output is complete. The sections read /dev/null, never that shell's input.
 *
 * Why dd: OpenSSH sends whatever it reads from the command's pipes as it reads it, and the
 * sections print in many small writes (each `cat`, each marker), so a poll reached the poller as
 * about 29 SSH data packets, each decrypted, parsed and handed through a stream on our side.
 * `dd ibs=4096 obs=65536` gathers a stream into 64 KB blocks and writes them whole: one packet per
 * stream for a poll's output. Against a real OpenSSH server the poller's CPU for a batched poll
 * of the three collectors, parsing included, fell from 2.2-3.4 ms to 1.1-2.0 ms; the host runs
 * two more small processes per batch (docs/benchmarks.md, "Thirty packets a poll"). Without dd on
 * the host the sections run unbuffered, as before. The exec's exit code is then dd's; each
 * section's own is in its end marker, and a section's output waits in dd until the batch ends.
 *
 * Each section runs in a subshell, so its `exit`, variables and PATH stay its own; none of them
 * sees the file descriptor the delivery pipes stdout through. Output is, on stdout and on stderr
 * alike, per section: `@@ipb:<nonce>:<i>\n` + the section's output +
 * `\n@@ipb:<nonce>:<i>:<exit code>\n`. The markers are assembled at run time from the nonce
 * variable, so no text in the script (which `ps` on the host can show) contains one; the nonce is
 * fresh per exec, so a section's output cannot end another's. A section killed by a signal
 * reports 128 + the signal's number, as the shell does, where an exec of its own would give null.
 */
import { randomUUID } from 'node:crypto';
import type { CommandRunner, ExecOptions, ExecResult } from './types.ts';
import { TransportError } from './types.ts';

const HEADER = '# infrapulse batch: ';
const MARK = '@@ipb:';

const PRELUDE = [
  "__ipb_b() { printf '@@ipb:%s:%s\\n' \"$__ipb_n\" \"$1\"; printf '@@ipb:%s:%s\\n' \"$__ipb_n\" \"$1\" >&2; }",
  "__ipb_e() { printf '\\n@@ipb:%s:%s:%s\\n' \"$__ipb_n\" \"$1\" \"$2\"; printf '\\n@@ipb:%s:%s:%s\\n' \"$__ipb_n\" \"$1\" \"$2\" >&2; }",
  "__ipb_z() { printf '@@ipb:%s:end\\n' \"$__ipb_n\"; printf '@@ipb:%s:end\\n' \"$__ipb_n\" >&2; }",
].join('\n');

const sectionText = (i: number, command: string): string => `__ipb_b ${i}\n(\n${command}\n)\n__ipb_e ${i} $?\n`;

/**
 * Closes __ipb_r (opened by `opening`) and runs it with stderr through one dd back to stderr and
 * stdout through another, each gathering its stream into 64 KB writes; fd 3 carries stdout past
 * the first pipe and is closed for everything else.
 */
const GATHER = 'dd ibs=4096 obs=65536';
const DELIVERY = [
  '}',
  '__ipb_a() { __ipb_r </dev/null; __ipb_z; }',
  'if command -v dd >/dev/null 2>&1; then',
  `  { __ipb_a 2>&1 1>&3 3>&- | ${GATHER} 1>&2 2>/dev/null 3>&-; } 3>&1 | ${GATHER} 2>/dev/null`,
  'else __ipb_a; fi',
  '',
].join('\n');

const opening = (nonce: string): string => `__ipb_n=${nonce}\n${PRELUDE}\n__ipb_r() {\n`;

/** The script that runs `commands` in order, each in its own subshell, with per-section markers. */
export function buildBatchScript(nonce: string, commands: readonly string[]): string {
  if (!/^[A-Za-z0-9-]+$/.test(nonce)) throw new RangeError(`batch nonce must be [A-Za-z0-9-], got ${JSON.stringify(nonce)}`);
  let script = `${HEADER}${commands.map((c) => c.length).join(',')}\n${opening(nonce)}`;
  for (let i = 0; i < commands.length; i++) script += sectionText(i, commands[i]!);
  return script + DELIVERY;
}

/** The nonce and commands of a script buildBatchScript made; undefined for anything else (a plain command). */
export function parseBatchScript(script: string): { nonce: string; commands: string[] } | undefined {
  if (!script.startsWith(HEADER)) return undefined;
  const headerEnd = script.indexOf('\n');
  const lengths = script.slice(HEADER.length, headerEnd).split(',').map(Number);
  const nonce = /^__ipb_n=([A-Za-z0-9-]+)\n/.exec(script.slice(headerEnd + 1))?.[1];
  if (nonce === undefined || lengths.some((n) => !Number.isInteger(n) || n < 0)) return undefined;
  let pos = headerEnd + 1 + opening(nonce).length;
  const commands: string[] = [];
  for (let i = 0; i < lengths.length; i++) {
    const start = pos + `__ipb_b ${i}\n(\n`.length;
    const command = script.slice(start, start + lengths[i]!);
    if (!script.startsWith(sectionText(i, command), pos)) return undefined;
    commands.push(command);
    pos += sectionText(i, command).length;
  }
  return script.slice(pos) === DELIVERY ? { nonce, commands } : undefined;
}

/** The line a batch prints last, on stdout and on stderr alike, once its sections are done. */
export const batchEnd = (nonce: string): string => `${MARK}${nonce}:end\n`;

/** What a host's shell prints for the batch whose sections gave `results` (the simulator's answer). */
export function renderBatchOutput(nonce: string, results: readonly { stdout: string; stderr: string; code: number }[]): { stdout: string; stderr: string; code: number } {
  let stdout = '';
  let stderr = '';
  results.forEach((r, i) => {
    stdout += `${MARK}${nonce}:${i}\n${r.stdout}\n${MARK}${nonce}:${i}:${r.code}\n`;
    stderr += `${MARK}${nonce}:${i}\n${r.stderr}\n${MARK}${nonce}:${i}:${r.code}\n`;
  });
  return { stdout: stdout + batchEnd(nonce), stderr: stderr + batchEnd(nonce), code: results.at(-1)?.code ?? 0 };
}

/**
 * The kept shell (ssh-shell.ts): one `exec sh` session per connection, fed one batch script per
 * poll on its stdin. Before the first script it must answer the ready probe with shellReady on
 * stdout and on stderr: a login shell that does not run `sh`, a forced command, or a peer that
 * answers something else never does, and the connection's polls go out as execs instead.
 */
export const SHELL_COMMAND = 'exec sh';
const READY = "printf '@@ipb:%s:ready\\n' \"$__ipb_n\"; printf '@@ipb:%s:ready\\n' \"$__ipb_n\" >&2\n";
export const shellProbe = (nonce: string): string => `__ipb_n=${nonce}\n${READY}`;
export const shellReady = (nonce: string): string => `${MARK}${nonce}:ready\n`;

export type ShellInput = { kind: 'probe'; nonce: string } | { kind: 'batch'; nonce: string; commands: string[] };

/**
 * The first probe or batch script at the start of what a kept shell has read so far (the
 * simulator's side), with the text after it; undefined while it is incomplete.
 */
export function takeShellInput(text: string): { input: ShellInput; rest: string } | 'invalid' | undefined {
  if (text.startsWith(HEADER)) {
    const at = text.indexOf(DELIVERY);
    if (at < 0) return undefined;
    const batch = parseBatchScript(text.slice(0, at + DELIVERY.length));
    return batch ? { input: { kind: 'batch', ...batch }, rest: text.slice(at + DELIVERY.length) } : 'invalid';
  }
  const line = text.indexOf('\n');
  if (line < 0) return HEADER.startsWith(text) || '__ipb_n='.startsWith(text) || /^__ipb_n=[A-Za-z0-9-]*$/.test(text) ? undefined : 'invalid';
  const nonce = /^__ipb_n=([A-Za-z0-9-]+)$/.exec(text.slice(0, line))?.[1];
  if (nonce === undefined) return 'invalid';
  const rest = text.slice(line + 1);
  if (rest.length < READY.length) return READY.startsWith(rest) ? undefined : 'invalid';
  return rest.startsWith(READY) ? { input: { kind: 'probe', nonce }, rest: rest.slice(READY.length) } : 'invalid';
}

interface Section {
  text: string;
  /** The exit code its end marker carries; undefined when there is no end marker (output cut short). */
  code: number | undefined;
  found: boolean;
}

function section(output: string, nonce: string, i: number): Section {
  const begin = `${MARK}${nonce}:${i}\n`;
  const at = output.indexOf(begin);
  if (at < 0) return { text: '', code: undefined, found: false };
  const from = at + begin.length;
  const endMark = `\n${MARK}${nonce}:${i}:`;
  const end = output.indexOf(endMark, from);
  if (end < 0) return { text: output.slice(from), code: undefined, found: true };
  const codeEnd = output.indexOf('\n', end + endMark.length);
  const code = Number(output.slice(end + endMark.length, codeEnd < 0 ? undefined : codeEnd));
  return { text: output.slice(from, end), code: Number.isInteger(code) ? code : undefined, found: true };
}

/**
 * One ExecResult per section of a batch's output. A section the shell never reached (the script
 * did not run: a login shell that is not POSIX) gets the whole stderr and the exec's exit code, so
 * the collector reports why; one cut short keeps what it printed, with a null exit code.
 */
export function splitBatchOutput(nonce: string, count: number, result: ExecResult): ExecResult[] {
  const out: ExecResult[] = [];
  for (let i = 0; i < count; i++) {
    const o = section(result.stdout, nonce, i);
    const e = section(result.stderr, nonce, i);
    // No marker at all: the script did not run. With one section everything the exec printed is
    // that section's; with several, stdout cannot be told apart, and stderr says why.
    if (!o.found && !e.found) out.push(count === 1 ? result : { stdout: '', stderr: result.stderr, code: result.code });
    else out.push({ stdout: o.text, stderr: e.text, code: o.code ?? e.code ?? null });
  }
  return out;
}

interface Pending {
  command: string;
  options: ExecOptions;
  resolve: (r: ExecResult) => void;
  reject: (e: unknown) => void;
}

export interface ExecBatch {
  /** The runner for participant `i` (0 ≤ i < size); its first exec may wait for the others'. */
  runner(i: number): CommandRunner;
  /** Participant `i` is finished (whether or not it ran a command): the batch no longer waits for it. */
  done(i: number): void;
}

/** Longest timeout; summed output limits (each also checked per section). Absent means the runner's default. */
function mergedOptions(pending: readonly Pending[]): ExecOptions {
  const timeouts = pending.map((p) => p.options.timeoutMs);
  const limits = pending.map((p) => p.options.maxOutputBytes);
  return {
    ...(timeouts.every((t) => t !== undefined) ? { timeoutMs: Math.max(...timeouts) } : {}),
    ...(limits.every((l) => l !== undefined) ? { maxOutputBytes: limits.reduce((a, b) => a + b, 0) } : {}),
  };
}

function send(runner: CommandRunner, pending: Pending[]): void {
  const nonce = randomUUID();
  const script = buildBatchScript(nonce, pending.map((p) => p.command));
  const options = mergedOptions(pending);
  (runner.runScript ? runner.runScript(script, batchEnd(nonce), options) : runner.exec(script, options)).then(
    (result) => {
      const parts = splitBatchOutput(nonce, pending.length, result);
      pending.forEach((p, i) => {
        const r = parts[i]!;
        const limit = p.options.maxOutputBytes;
        if (limit !== undefined && Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr) > limit) {
          p.reject(new TransportError('OUTPUT_LIMIT', `command printed more than ${limit} bytes`));
        } else p.resolve(r);
      });
    },
    (err: unknown) => {
      for (const p of pending) p.reject(err);
    },
  );
}

/** Batches the first exec of each of `size` participants (one poll's collectors) on `runner`. */
export function createExecBatch(runner: CommandRunner, size: number): ExecBatch {
  // Per participant: still to be heard from (its first exec not asked for, not done).
  const waiting = new Array<boolean>(size).fill(true);
  let open = size;
  const pending: Pending[] = [];
  let sent = false;

  const flushIfReady = (): void => {
    if (sent || open > 0) return;
    sent = true;
    const batch = pending.splice(0);
    if (batch.length > 0) send(runner, batch);
  };
  const settle = (i: number): void => {
    if (!waiting[i]) return;
    waiting[i] = false;
    open--;
  };

  return {
    runner: (i) => ({
      exec(command, options = {}) {
        if (sent || !waiting[i]) return runner.exec(command, options);
        return new Promise<ExecResult>((resolve, reject) => {
          pending.push({ command, options, resolve, reject });
          settle(i);
          flushIfReady();
        });
      },
      // The device's runner outlives the poll; collectors never close it.
      close: async () => {},
    }),
    done(i) {
      settle(i);
      flushIfReady();
    },
  };
}
