import { TransportError } from '../../src/transport/types.ts';

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
