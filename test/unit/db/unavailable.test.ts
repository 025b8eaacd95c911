/** The one "database unreachable" classifier: outage shapes from every layer yes, refused queries no. */
import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable } from '../../../src/db/unavailable.ts';

describe('isDatabaseUnavailable', () => {
  it('recognises the outage as Prisma, node-postgres, the socket and PostgreSQL report it', () => {
    const prisma = Object.assign(new Error("Can't reach database server at 127.0.0.1:5432"), { code: 'P1001' });
    const adapter = Object.assign(new Error('Raw query failed'), { code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } } });
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const terminated = new Error('Connection terminated unexpectedly');
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const wrapped = new GraphQLError('Unexpected error.', { originalError: Object.assign(new Error('x'), { cause: socket }) });
    const busy = Object.assign(new Error('Transaction API error: Unable to start a transaction in the given time.'), { code: 'P2028' });
    for (const e of [prisma, adapter, socket, terminated, shutdown, wrapped, busy]) expect(isDatabaseUnavailable(e), e.message).toBe(true);
  });

  it('leaves errors of a reachable database alone', () => {
    const unique = Object.assign(new Error('Unique constraint failed'), { code: 'P2002' });
    const syntax = Object.assign(new Error('syntax error at or near "x"'), { code: '42601' });
    for (const e of [unique, syntax, new Error('boom'), null, 'text']) expect(isDatabaseUnavailable(e)).toBe(false);
  });
});
