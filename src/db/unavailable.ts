/**
 * Is this error the database being unreachable (down, restarting, network gone), as opposed to
 * a query it refused? One classifier for every layer: Prisma (P1001 "can't reach", P1017
 * "closed the connection", P2024 pool timeout, P2028 a transaction that could not start or
 * expired in time, driver-adapter kinds), node-postgres and the
 * socket (ECONNREFUSED, "Connection terminated"), and PostgreSQL's own shutdown codes
 * (SQLSTATE class 08, 57P01-57P03). Walks `cause`, `originalError` and Prisma's meta.
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'DatabaseDoesNotExist']);
const MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Can't reach database server|Client has encountered a connection error|Connection is closed/i;

/** The GraphQL error code of the typed answer (src/server/database-unavailable.ts). */
export const DATABASE_UNAVAILABLE = 'DATABASE_UNAVAILABLE';

interface ErrorLike {
  code?: unknown;
  extensions?: { code?: unknown };
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  originalError?: unknown;
  meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
}

const isSqlStateUnavailable = (code: string): boolean => /^08[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03';

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (depth > 5 || typeof err !== 'object' || err === null) return false;
  const e = err as ErrorLike;
  if (e.extensions?.code === DATABASE_UNAVAILABLE) return true;
  if (typeof e.code === 'string' && (PRISMA_CODES.has(e.code) || SOCKET_CODES.has(e.code) || isSqlStateUnavailable(e.code))) return true;
  if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
  const adapterKind = e.meta?.driverAdapterError?.cause?.kind;
  if (typeof adapterKind === 'string' && ADAPTER_KINDS.has(adapterKind)) return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  return isDatabaseUnavailable(e.cause, depth + 1) || isDatabaseUnavailable(e.originalError, depth + 1);
}
