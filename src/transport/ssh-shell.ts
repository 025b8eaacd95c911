/**
 * A shell kept open on a connection for the poll scripts (batch.ts): one `exec sh` session channel
 * whose stdin takes one script per poll. An exec per poll opens, runs and closes a session channel
 * each time (open, confirmation, exec request, success, exit status, EOF and close around the data:
 * each packet a socket write, a decryption and a stream event on both sides), and on the host
 * sshd starts a session and a login shell for it. Kept, a poll is one packet out and one per
 * stream back. A script's output is complete when stdout and stderr both end with its end line
 * (batchEnd): nothing else prints until the next script is written.
 *
 * The shell opens with the first script on a connection and must answer a ready probe (shellProbe)
 * before that script is written. A peer that closes the channel, or prints 64 KB, without
 * answering (a forced command, a login shell that cannot run `sh`, an SSH server that is no host)
 * has the connection marked, and its scripts go out as execs from then on. One script at a time:
 * a script that arrives while the shell is busy goes out as an exec. A script that times out or
 * prints too much kills the shell as an exec's channel is killed (signal, close, and the same grace
 * before the connection counts as wedged); the next script opens a new one. A shell that exits
 * mid-script gives what the script printed so far, as an exec whose command died would; one that
 * exits before the script printed anything (killed while idle) has the script sent as an exec.
 */
import { randomUUID } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import { SHELL_COMMAND, shellProbe, shellReady } from './batch.ts';
import type { Connection } from './ssh-connection.ts';
import { killChannel, runOnConnection, type ExecContext } from './ssh-exec.ts';
import type { ExecOptions, ExecResult } from './types.ts';
import { collectedResult, printedTooMuch, timedOut } from './outcome.ts';
import { TransportError } from './types.ts';

/** A peer that prints this much without answering the probe is not a shell we can use. */
const PROBE_LIMIT = 64 * 1024;

/** Runs `script`, which prints `end` last on stdout and on stderr, in the connection's kept shell, or as an exec when it has none to offer. */
export async function runInShell(ctx: ExecContext, conn: Connection, script: string, end: string, options: ExecOptions, release: () => void): Promise<ExecResult> {
  if (!conn.shellRefused && !(conn.shell?.busy ?? false)) {
    conn.shell ??= new KeptShell(ctx, conn);
    const result = await conn.shell.run(script, end, options, release);
    if (result !== undefined) return result;
  }
  return runOnConnection(ctx, conn, script, options, release);
}

/** The script in the shell. */
interface Run {
  readonly script: string;
  readonly end: string;
  readonly maxOutputBytes: number;
  readonly release: () => void;
  readonly resolve: (result: ExecResult | undefined) => void;
  readonly reject: (error: TransportError) => void;
  readonly stdout: Buffer[];
  readonly stderr: Buffer[];
  bytes: number;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  /** Its channel slot is given back (the run ended, or the killed shell's channel confirmed its close). */
  finished: boolean;
}

export class KeptShell {
  busy = false;
  private channel: ClientChannel | undefined;
  private opening = false;
  private ready = false;
  /** Killed, refused or closed: it takes no more scripts and is no longer the connection's. */
  private gone = false;
  private readonly nonce = randomUUID();
  private probeBytes = 0;
  /** The last bytes of stdout and of stderr, as many as the line awaited (ready or end) has. */
  private tails: [string, string] = ['', ''];
  private current: Run | undefined;
  private exitCode: number | null = null;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ExecContext,
    private readonly conn: Connection,
  ) {
    conn.onDeath.add(this.onDeath);
  }

  /** The script's result; undefined when this shell could not take it (send it as an exec). */
  run(script: string, end: string, options: ExecOptions, release: () => void): Promise<ExecResult | undefined> {
    this.busy = true;
    this.conn.active++;
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.ctx.execTimeoutMs;
      const run: Run = {
        script,
        end,
        maxOutputBytes: options.maxOutputBytes ?? this.ctx.maxOutputBytes,
        release,
        resolve,
        reject,
        stdout: [],
        stderr: [],
        bytes: 0,
        timer: undefined,
        settled: false,
        finished: false,
      };
      this.current = run;
      run.timer = setTimeout(() => this.kill(timedOut(this.ctx.where, timeoutMs)), timeoutMs);
      if (this.ready) this.write(run);
      else if (!this.opening) this.open();
    });
  }

  private open(): void {
    this.opening = true;
    try {
      this.conn.client.exec(SHELL_COMMAND, (err, channel) => {
        if (err) this.fallBack(false);
        else this.opened(channel);
      });
    } catch {
      // The socket is no longer writable: the exec it falls back to reports the connection lost.
      this.fallBack(false);
    }
  }

  private opened(channel: ClientChannel): void {
    this.channel = channel;
    if (this.gone) {
      channel.close();
      return;
    }
    channel.on('data', (chunk: Buffer) => this.data(0, chunk));
    channel.stderr.on('data', (chunk: Buffer) => this.data(1, chunk));
    channel.on('exit', (code: number | null) => (this.exitCode = typeof code === 'number' ? code : null));
    channel.on('error', () => {
      // Channel errors end in 'close' or in the connection's death; both are handled there.
    });
    channel.on('close', () => this.closed());
    channel.write(shellProbe(this.nonce));
  }

  private data(stream: 0 | 1, chunk: Buffer): void {
    const run = this.current;
    if (run === undefined || run.settled) return;
    const awaited = this.ready ? run.end : shellReady(this.nonce);
    this.tails[stream] = (this.tails[stream] + chunk.subarray(-awaited.length).toString('latin1')).slice(-awaited.length);
    const complete = this.tails[0] === awaited && this.tails[1] === awaited;
    if (!this.ready) {
      this.probeBytes += chunk.length;
      if (complete) {
        this.ready = true;
        this.write(run);
      } else if (this.probeBytes > PROBE_LIMIT) this.fallBack(true);
      return;
    }
    run.bytes += chunk.length;
    if (run.bytes > run.maxOutputBytes) {
      this.kill(printedTooMuch(this.ctx.where, run.maxOutputBytes));
      return;
    }
    (stream === 0 ? run.stdout : run.stderr).push(chunk);
    if (complete) {
      this.ctx.owner.proven(this.conn);
      this.settle(run, collectedResult(run.stdout, run.stderr, 0));
      this.finish(run);
      this.busy = false;
    }
  }

  private write(run: Run): void {
    this.tails = ['', ''];
    this.channel!.write(run.script);
  }

  private settle(run: Run, outcome: ExecResult | TransportError | undefined): void {
    if (run.settled) return;
    run.settled = true;
    clearTimeout(run.timer);
    if (outcome instanceof TransportError) run.reject(outcome);
    else run.resolve(outcome);
  }

  private finish(run: Run): void {
    if (run.finished) return;
    run.finished = true;
    if (this.current === run) this.current = undefined;
    this.conn.active--;
    run.release();
    this.ctx.owner.endIfRetired(this.conn);
  }

  /** Takes the shell off its connection; it takes no more scripts. */
  private leave(): void {
    this.gone = true;
    if (this.conn.shell === this) this.conn.shell = undefined;
  }

  /** This shell cannot take the script (channel refused, or `refused`: the peer is no shell we can use); the caller sends it as an exec. */
  private fallBack(refused: boolean): void {
    this.leave();
    if (refused) this.conn.shellRefused = true;
    this.conn.onDeath.delete(this.onDeath);
    this.channel?.close();
    const run = this.current;
    this.current = undefined;
    if (run === undefined) return;
    if (run.settled) return this.finish(run);
    // The exec takes over the channel slot and the count of what runs on the connection.
    this.conn.active--;
    run.finished = true;
    this.settle(run, undefined);
  }

  /** A timeout or too much output: signal and close the shell; the slot stays taken until the server confirms the close. */
  private kill(error: TransportError): void {
    const run = this.current;
    this.leave();
    if (run !== undefined) this.settle(run, error);
    if (this.channel === undefined) {
      if (run !== undefined) this.finish(run);
      return;
    }
    this.graceTimer = killChannel(this.channel, this.ctx.graceMs, () => {
      if (run === undefined || run.finished) return;
      this.finish(run);
      this.ctx.owner.retire(this.conn);
    });
  }

  private closed(): void {
    clearTimeout(this.graceTimer);
    this.conn.onDeath.delete(this.onDeath);
    const run = this.current;
    // Killed (the close confirms it) or already given up.
    if (this.gone) {
      if (run !== undefined) this.finish(run);
      return;
    }
    if (!this.ready) return this.fallBack(true);
    // It died before the script printed anything (killed on the host while idle, its close still
    // on the way): the script goes out as an exec.
    if (run !== undefined && run.bytes === 0) return this.fallBack(false);
    this.leave();
    if (run === undefined) return;
    // The shell exited mid-script: what the script printed so far, as an exec whose command died.
    this.settle(run, collectedResult(run.stdout, run.stderr, this.exitCode));
    this.finish(run);
  }

  private readonly onDeath = (error: TransportError): void => {
    clearTimeout(this.graceTimer);
    this.leave();
    const run = this.current;
    if (run === undefined) return;
    this.settle(run, error);
    this.finish(run);
  };
}
