/**
 * What the API answers while its database is unreachable: a typed DATABASE_UNAVAILABLE error
 * (HTTP 503 with Retry-After where the transport has a status) instead of a masked
 * "Unexpected error" 500. The Yoga plugin turns every database-unreachable error of an
 * operation into it, on every transport (they share one Envelop pipeline), except a
 * subscription's events, which run outside it: the operation core's `mask` does it for those
 * (src/server/operation.ts). The helpers answer it where no operation runs yet (token checks on
 * graphql-sse and graphql-ws).
 */
import type http from 'node:http';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { DATABASE_UNAVAILABLE, isDatabaseUnavailable } from '../db/unavailable.ts';

export { DATABASE_UNAVAILABLE };
/** Seconds a client should wait before retrying. */
export const RETRY_AFTER_SECONDS = 5;
/** WebSocket close code 1013 "Try Again Later" (RFC 6455 registry). */
export const WS_CLOSE_TRY_AGAIN_LATER = 1013;

export class DatabaseUnavailableError extends GraphQLError {
  /** `at`: the error it replaces, whose path and locations it keeps. */
  constructor(at?: GraphQLError) {
    super('database unavailable: try again shortly', {
      path: at?.path,
      nodes: at?.nodes,
      extensions: { code: DATABASE_UNAVAILABLE, http: { status: 503, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } } },
    });
  }
}

type ResultErrors = { errors?: readonly GraphQLError[] };

const isSingleResult = (r: unknown): r is ResultErrors => typeof r === 'object' && r !== null && !(Symbol.asyncIterator in r);

/** The typed error (at the failed one's path) when `err` is the outage; undefined otherwise. */
export const outageError = (err: unknown): DatabaseUnavailableError | undefined =>
  isDatabaseUnavailable(err) ? new DatabaseUnavailableError(err instanceof GraphQLError ? err : undefined) : undefined;

function replaceErrors<R extends ResultErrors>(result: R): R | undefined {
  if (!result.errors?.some((e) => isDatabaseUnavailable(e))) return undefined;
  // Errors that are the outage become the typed one (at their path); the others stay as they are.
  return { ...result, errors: result.errors.map((e) => outageError(e) ?? e) };
}

export function databaseUnavailablePlugin(): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (!isSingleResult(result)) return;
          const replaced = replaceErrors(result);
          if (replaced) setResult(replaced);
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isSingleResult(result)) return;
          const replaced = replaceErrors(result);
          if (replaced) setResult(replaced);
        },
      };
    },
  };
}

/** For a plain HTTP route (graphql-sse): answers 503 when `err` is the outage; false otherwise. */
export function respondDatabaseUnavailable(res: http.ServerResponse, err: unknown): boolean {
  if (!isDatabaseUnavailable(err) || res.headersSent) return false;
  const e = new DatabaseUnavailableError();
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': String(RETRY_AFTER_SECONDS) });
  res.end(JSON.stringify({ errors: [{ message: e.message, extensions: { code: DATABASE_UNAVAILABLE } }] }));
  return true;
}

/** For a graphql-ws connection whose token could not be checked: close 1013 "Try Again Later" (then undefined); rethrows anything else. */
export function closeIfDatabaseUnavailable(socket: { close(code: number, reason: string): void }, err: unknown): undefined {
  if (!isDatabaseUnavailable(err)) throw err;
  socket.close(WS_CLOSE_TRY_AGAIN_LATER, new DatabaseUnavailableError().message);
  return undefined;
}
