/**
 * One command on an open connection: a session channel (retried while the server refuses it for
 * MaxSessions), a hard timeout, an output cap, the exit code. An exec that times out has its
 * channel signalled and closed; the slot stays taken until the server confirms, and a server that
 * does not confirm within the grace period has its connection retired (wedged).
 */
import type { ClientChannel } from 'ssh2';
import type { Connection } from './ssh-connection.ts';
import type { ExecOptions, ExecResult } from './types.ts';
import { collectedResult, printedTooMuch, timedOut } from './outcome.ts';
import { TransportError } from './types.ts';

/** Channel opens refused by the server are retried this many times (5, 10, 20, … ms apart). */
const OPEN_RETRIES = 5;

/** What an exec asks of whoever owns its connection (ssh-lifecycle.ts). */
export interface ExecOwner {
  /** The connection is unusable: fail everything on it and forget it. */
  kill(conn: Connection, error: TransportError): void;
  /** No new execs on it; ended once its other channels finish. */
  retire(conn: Connection): void;
  /** Ends a retired connection whose last channel just finished. */
  endIfRetired(conn: Connection): void;
  /** An exec completed on it: the host works, so backoff starts over. */
  proven(conn: Connection): void;
}

export interface ExecContext {
  where: string;
  /** Defaults when ExecOptions leaves them out. */
  execTimeoutMs: number;
  maxOutputBytes: number;
  /** How long a signalled channel may take to confirm its close before the connection counts as wedged. */
  graceMs: number;
  owner: ExecOwner;
}

/** One exec in flight, shared by the functions below. */
interface Exec {
  readonly ctx: ExecContext;
  readonly conn: Connection;
  readonly command: string;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /** Frees the runner's channel slot. */
  readonly release: () => void;
  readonly resolve: (result: ExecResult) => void;
  readonly reject: (error: TransportError) => void;
  readonly stdout: Buffer[];
  readonly stderr: Buffer[];
  bytes: number;
  code: number | null;
  settled: boolean;
  /** Until the server confirms the channel closed: it still counts the session. */
  slotHeld: boolean;
  channel: ClientChannel | undefined;
  timer: NodeJS.Timeout | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  onDeath: (error: TransportError) => void;
}

/** Runs `command` on `conn`; `release` is called once the channel is gone (not merely when the promise settles). */
export function runOnConnection(
  ctx: ExecContext,
  conn: Connection,
  command: string,
  execOptions: ExecOptions,
  release: () => void,
): Promise<ExecResult> {
  const timeoutMs = execOptions.timeoutMs ?? ctx.execTimeoutMs;
  const maxOutputBytes = execOptions.maxOutputBytes ?? ctx.maxOutputBytes;
  conn.active++;
  return new Promise<ExecResult>((resolve, reject) => {
    const exec: Exec = {
      ctx,
      conn,
      command,
      timeoutMs,
      maxOutputBytes,
      release,
      resolve,
      reject,
      stdout: [],
      stderr: [],
      bytes: 0,
      code: null,
      settled: false,
      slotHeld: true,
      channel: undefined,
      timer: undefined,
      graceTimer: undefined,
      onDeath: (error) => {
        clearTimeout(exec.graceTimer);
        settle(exec, error);
        finishChannel(exec);
      },
    };
    conn.onDeath.add(exec.onDeath);
    exec.timer = setTimeout(() => abandon(exec, timeoutError(exec)), timeoutMs);
    openChannel(exec, 0);
  });
}

function timeoutError(exec: Exec): TransportError {
  return timedOut(exec.ctx.where, exec.timeoutMs);
}

function settle(exec: Exec, error: TransportError | undefined): void {
  if (exec.settled) return;
  exec.settled = true;
  clearTimeout(exec.timer);
  exec.conn.onDeath.delete(exec.onDeath);
  if (error) exec.reject(error);
  else
    exec.resolve(collectedResult(exec.stdout, exec.stderr, exec.code));
}

function finishChannel(exec: Exec): void {
  if (!exec.slotHeld) return;
  exec.slotHeld = false;
  exec.conn.active--;
  exec.release();
  exec.ctx.owner.endIfRetired(exec.conn);
}

/**
 * Signals and closes a channel we no longer want (ssh-shell.ts kills its shell the same way).
 * `wedged` runs if the server has not confirmed the close within `graceMs`; the caller clears the
 * returned timer when the close arrives.
 */
export function killChannel(channel: ClientChannel, graceMs: number, wedged: () => void): NodeJS.Timeout {
  try {
    // OpenSSH kills the session's process group on a signal request; without it, close waits for the command to exit.
    channel.signal('KILL');
    channel.close();
  } catch {
    // The connection is already gone; onDeath cleans up.
  }
  const timer = setTimeout(wedged, graceMs);
  timer.unref();
  return timer;
}

/** Stops a channel we no longer want; the slot stays taken until the server confirms, since it still counts the session. */
function abandon(exec: Exec, error: TransportError): void {
  settle(exec, error);
  const channel = exec.channel;
  if (!channel) return;
  exec.graceTimer = killChannel(channel, exec.ctx.graceMs, () => {
    if (!exec.slotHeld) return;
    finishChannel(exec);
    exec.ctx.owner.retire(exec.conn);
  });
}

function openChannel(exec: Exec, attempt: number): void {
  const { conn, ctx } = exec;
  try {
    conn.client.exec(exec.command, (err, stream) => {
      if (err) channelRefused(exec, err, attempt);
      else channelOpened(exec, stream);
    });
  } catch (err) {
    // ssh2 throws synchronously when the socket is no longer writable.
    const message = err instanceof Error ? err.message : String(err);
    settle(exec, new TransportError('CLOSED', `${ctx.where}: connection lost: ${message}`));
    finishChannel(exec);
    ctx.owner.kill(conn, new TransportError('CLOSED', `${ctx.where}: connection lost: ${message}`));
  }
}

/**
 * ssh2's `Channel.destroy()` is `end(); close()`, and streams call it once both sides are done,
 * when the writable side has long finished: `end()` then builds an ERR_STREAM_ALREADY_FINISHED
 * error, stack trace included, that nobody reads. One per exec was 8 % of the poller's CPU at
 * 1,000 devices (docs/benchmarks.md). Same effect without it: close only.
 */
function skipEndWhenEnded(stream: ClientChannel): void {
  const destroy = stream.destroy.bind(stream);
  stream.destroy = () => {
    if (!stream.writableEnded) return destroy();
    stream.close();
    return stream;
  };
}

function channelRefused(exec: Exec, err: Error, attempt: number): void {
  // OpenSSH frees a session only after it has seen our reply to its channel close, so an open sent right
  // behind that reply can be refused for MaxSessions; it succeeds a moment later.
  const refusedByServer = 'reason' in err && typeof err.reason === 'number';
  if (refusedByServer && attempt < OPEN_RETRIES && !exec.settled && !exec.conn.dead) {
    setTimeout(() => openChannel(exec, attempt + 1), 5 * 2 ** attempt);
    return;
  }
  // Either the connection died while opening (onDeath already ran) or the server kept refusing the channel.
  settle(exec, new TransportError('CLOSED', `${exec.ctx.where}: could not open a session channel: ${err.message}`));
  finishChannel(exec);
}

function channelOpened(exec: Exec, stream: ClientChannel): void {
  exec.channel = stream;
  skipEndWhenEnded(stream);
  if (exec.settled) {
    // Timed out while the channel was opening.
    abandon(exec, timeoutError(exec));
  }
  const collect = (into: Buffer[]) => (chunk: Buffer) => {
    if (exec.settled) return;
    exec.bytes += chunk.length;
    if (exec.bytes > exec.maxOutputBytes) {
      abandon(exec, printedTooMuch(exec.ctx.where, exec.maxOutputBytes));
      return;
    }
    into.push(chunk);
  };
  stream.on('data', collect(exec.stdout));
  stream.stderr.on('data', collect(exec.stderr));
  stream.on('exit', (exitCode: number | null) => {
    exec.code = typeof exitCode === 'number' ? exitCode : null;
  });
  stream.on('error', () => {
    // Channel-level errors end in 'close' or connection death; both are handled there.
  });
  stream.on('close', () => {
    clearTimeout(exec.graceTimer);
    if (!exec.settled && !exec.conn.dead) exec.ctx.owner.proven(exec.conn);
    settle(exec, undefined);
    finishChannel(exec);
  });
}
