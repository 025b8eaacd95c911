/**
 * Resume cursors: opaque strings a client hands back as `after:`. Inside is a row's ingest
 * sequence number (storage's `seq` column); the version prefix lets the format change later
 * without old cursors being misread.
 */
import { GraphQLError } from 'graphql';

const PREFIX = 'seq1:';

export const encodeCursor = (seq: number): string => Buffer.from(`${PREFIX}${seq}`).toString('base64url');

/** The sequence number in a cursor; a clear error for anything that is not one of ours. */
export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = text.startsWith(PREFIX) ? Number(text.slice(PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new GraphQLError('`after` is not a cursor this server handed out: pass the `cursor` field of a sample you received', { extensions: { code: 'BAD_CURSOR' } });
  }
  return seq;
}
