// Runs collector commands on the machine infrapulse itself runs on (device `local`).
import { spawn } from 'node:child_process';
import type { CommandRunner, ExecOptions, ExecResult } from './types.ts';
import { collectedResult, printedTooMuch, timedOut } from './outcome.ts';
import { TransportError } from './types.ts';

export interface LocalRunnerOptions {
  /** Used when an exec gives no timeoutMs. */
  defaultTimeoutMs?: number;
  /** Used when an exec gives no maxOutputBytes. */
  defaultMaxOutputBytes?: number;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export function createLocalRunner(options: LocalRunnerOptions = {}): CommandRunner {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const defaultMaxOutputBytes = options.defaultMaxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;

  return {
    exec(command: string, execOptions: ExecOptions = {}): Promise<ExecResult> {
      const timeoutMs = execOptions.timeoutMs ?? defaultTimeoutMs;
      const maxOutputBytes = execOptions.maxOutputBytes ?? defaultMaxOutputBytes;
      return new Promise<ExecResult>((resolve, reject) => {
        // The command is a constant from a collector; it goes to sh as one argv entry, never interpolated.
        // detached: the shell leads its own process group, so a timeout kills its children too (e.g. `smartctl` under `sh -c`).
        const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let bytes = 0;
        let settled = false;

        const killGroup = (): void => {
          if (child.pid === undefined) return;
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        };
        const fail = (error: TransportError): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          killGroup();
          reject(error);
        };
        const timer = setTimeout(() => {
          fail(timedOut('local', timeoutMs));
        }, timeoutMs);

        const collect = (into: Buffer[]) => (chunk: Buffer) => {
          if (settled) return;
          bytes += chunk.length;
          if (bytes > maxOutputBytes) {
            fail(printedTooMuch('local', maxOutputBytes));
            return;
          }
          into.push(chunk);
        };
        child.stdout.on('data', collect(stdout));
        child.stderr.on('data', collect(stderr));

        child.on('error', (err) => {
          // spawn failures (no /bin/sh, EAGAIN) are not one of the transport kinds; CLOSED is the nearest meaning.
          fail(new TransportError('CLOSED', `local: could not run /bin/sh: ${err.message}`));
        });
        // 'close' rather than 'exit': it fires after both pipes are drained, so no output is lost.
        child.on('close', (code) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(collectedResult(stdout, stderr, code));
        });
      });
    },
    // Nothing stays open between execs; a running command ends by its own timeout.
    close: async () => {},
  };
}
