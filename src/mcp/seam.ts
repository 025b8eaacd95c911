/**
 * What the MCP endpoint needs from the server, and nothing more: the server's own auth decision
 * and its own GraphQL execution (every plugin, limit and error mask of /graphql). Kept this small
 * so the server can hand in whatever implements them (today server.ts, later its operation core).
 */
import type { EventBus } from '../events/index.ts';
import type { Principal } from '../graphql/context.ts';
import type { Logger } from '../log.ts';

export interface GraphqlRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

export interface GraphqlError {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

export interface GraphqlResult {
  data?: Record<string, unknown> | null;
  errors?: readonly GraphqlError[];
}

/** The server's verdict on an Authorization header from an address (its failed-attempt budget included). */
export type AuthVerdict = { principal: Principal } | { status: 401 | 429; retryAfterSeconds: number };

export interface McpSeam {
  authenticate(header: string | null | undefined, ip: string): Promise<AuthVerdict>;
  /** Runs one query or mutation as `principal`, exactly as POST /graphql would. */
  execute(request: GraphqlRequest, principal: Principal): Promise<GraphqlResult>;
  /** Registers a session under its token so revocation or expiry closes it; returns the unregister. */
  track(tokenId: string, close: () => void): () => void;
  events: EventBus;
  log: Logger;
  /** Close a session after this long with no request and no open stream. */
  sessionIdleSeconds: number;
}
