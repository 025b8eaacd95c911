import { TransportError, type CommandRunner, type ExecResult } from '../../src/transport/types.ts';

/** Answers each exec with the next scripted result and remembers the commands. */
export function fakeRunner(...results: Partial<ExecResult>[]): CommandRunner & { commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    close: async () => {},
    async exec(command) {
      commands.push(command);
      const r = results.shift();
      if (r === undefined) throw new Error('unexpected exec');
      return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.code ?? 0 };
    },
  };
}

/** The TransportError a runner's promise rejects with; anything else fails the test. */
export async function transportError(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TransportError) return err;
    throw err;
  }
  throw new Error('expected a TransportError');
}
