/**
 * Who is calling, for every transport: the token verdict plus the per-address budget of
 * failed attempts, and the registry of open connections by token so that a revoked or
 * expired token's connections close (at once on a `tokenRevoked` event, else within one
 * TOKEN_SWEEP_MS sweep). SECURITY.md describes the guarantees.
 */
import type http from 'node:http';
import { GraphQLError } from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import type { Principal, Services } from '../graphql/context.ts';
import { createConnectionRegistry, type CloseReason, type ConnectionRegistry } from '../security/connections.ts';
import { createRateLimiter } from '../security/rate-limit.ts';
import { bearer, createTokenVerifier, invalidTokens } from '../tokens.ts';

/** How often open connections' tokens are re-checked against the database (expiry, revocation elsewhere). */
export const TOKEN_SWEEP_MS = 2000;

export type Refusal = { status: 401 | 429; retryAfterSeconds: number };
export type Verdict = { principal: Principal } | Refusal;
export type TransportName = 'http' | 'ws' | 'sse' | 'mcp';

/** What Yoga's server context carries here (the Node request/response, and the principal once known). */
export type ServerContext = { req?: http.IncomingMessage; res?: http.ServerResponse; principal?: Principal | null };
export type RequestContext = YogaInitialContext & ServerContext;

export interface Auth {
  authenticate(header: string | null | undefined, ip: string, transport: TransportName): Promise<Verdict>;
  /** Whether the address may still try (false: answer 429 before looking at any token). */
  allows(ip: string): boolean;
  retryAfterSeconds(ip: string): number;
  /** Registers a connection under its token; the returned function unregisters it. */
  track(principal: Pick<Principal, 'tokenId'>, close: (reason: CloseReason) => void): () => void;
  /** Yoga plugin: requests without a valid token end with 401 (429 when blocked). */
  requireToken: Plugin<RequestContext>;
  start(): void;
  stop(): Promise<void>;
}

export function createAuth(services: Services): Auth {
  const { log } = services;
  const tokens = createTokenVerifier(services.db.prisma, { outageGraceMs: services.config.tokenOutageGraceSeconds * 1000 });
  const connections: ConnectionRegistry = createConnectionRegistry();
  const failures = createRateLimiter(services.config.limits.authFailuresPerMinute);

  /**
   * The one auth decision. An address that used up its failed attempts gets 429 before its
   * token is even looked at: a guessed token must not be testable while blocked (the
   * admin token may be a human-chosen INFRAPULSE_ADMIN_TOKEN).
   */
  async function authenticate(header: string | null | undefined, ip: string, transport: TransportName): Promise<Verdict> {
    if (!failures.allows(ip)) return { status: 429, retryAfterSeconds: failures.retryAfterSeconds(ip) };
    const principal = await tokens.verify(bearer(header));
    if (principal) return { principal };
    failures.take(ip);
    log.info({ ip, transport, tokenSent: Boolean(header) }, 'refused: missing or invalid API token');
    return { status: 401, retryAfterSeconds: 0 };
  }

  const track = (principal: Pick<Principal, 'tokenId'>, close: (reason: CloseReason) => void) => connections.add(principal.tokenId, close);

  const requireToken: Plugin<RequestContext> = {
    async onRequestParse({ request, serverContext }) {
      const ctx = serverContext as ServerContext;
      const verdict = await authenticate(request.headers.get('authorization'), ipOf(ctx.req), 'http');
      if ('status' in verdict) throw refusal(verdict);
      ctx.principal = verdict.principal;
      // Registered for its lifetime: a revoked token's slow request ends too.
      const res = ctx.res;
      if (res) res.once('close', track(verdict.principal, () => res.destroy()));
    },
  };

  /** Closes the connections of one token and forgets its cached verdict. */
  function invalidate(tokenId: string, reason: CloseReason): void {
    tokens.forget(tokenId);
    const closed = connections.closeToken(tokenId, reason);
    if (closed) log.info({ tokenId, reason, closed }, 'closed the connections of an invalidated API token');
  }

  /**
   * Revocation through the API arrives as an event (at once, on every instance when the bus
   * runs over Redis). Expiry, and revocation the event never announced (the CLI, SQL, an
   * instance without Redis), are caught by re-checking the tokens of open connections every
   * TOKEN_SWEEP_MS: one query for all of them, however many connections there are.
   */
  let sweep: NodeJS.Timeout | undefined;
  let sweeping = false;
  let unlisten: (() => void) | undefined;
  async function sweepOnce(): Promise<void> {
    if (sweeping) return;
    sweeping = true;
    try {
      for (const [tokenId, reason] of await invalidTokens(services.db.prisma, connections.tokenIds())) invalidate(tokenId, reason);
    } catch (err) {
      log.warn({ err }, 'could not re-check the tokens of open connections');
    } finally {
      sweeping = false;
    }
  }

  return {
    authenticate,
    allows: (ip) => failures.allows(ip),
    retryAfterSeconds: (ip) => failures.retryAfterSeconds(ip),
    track,
    requireToken,
    start() {
      unlisten = services.events.listen('tokenRevoked', ({ tokenId }) => invalidate(tokenId, 'revoked'));
      sweep = setInterval(() => void sweepOnce(), TOKEN_SWEEP_MS);
      sweep.unref();
    },
    async stop() {
      clearInterval(sweep);
      unlisten?.();
    },
  };
}

export const ipOf = (req: http.IncomingMessage | undefined): string => req?.socket.remoteAddress ?? 'unknown';

export function refusal(verdict: Refusal): GraphQLError {
  if (verdict.status === 429) {
    return new GraphQLError(`too many failed logins from this address: try again in ${verdict.retryAfterSeconds} s`, {
      extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: { 'retry-after': String(verdict.retryAfterSeconds) } } },
    });
  }
  return new GraphQLError('a valid API token is required: send "Authorization: Bearer <token>"', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

/** The refusal as a plain HTTP answer (for the routes Yoga does not serve). */
export function refuseHttp(res: http.ServerResponse, verdict: Refusal): void {
  const error = refusal(verdict);
  const headers = (error.extensions.http as { headers: Record<string, string> }).headers;
  res.writeHead(verdict.status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.extensions.code } }] }));
}
