/**
 * MCP sessions over Streamable HTTP.
 *
 * Stateful, not stateless: the device resources promise `notifications/resources/list_changed`,
 * and a server can only reach a client between its requests through the session's standalone
 * GET stream, which needs a session. A session is small (one McpServer with its tool table and
 * one transport) and is bound to the token that opened it: every request is authenticated again,
 * and a request with another token's session id is answered 404 like an unknown one.
 *
 * Sessions never outlive their use: DELETE closes one (the client's goodbye); one with no
 * request or stream open for MCP_SESSION_IDLE_SECONDS is closed; a revoked or expired token's
 * sessions close with its other connections; a token holding more than MAX_SESSIONS_PER_TOKEN
 * loses its least recently used one (a client that reconnects without saying goodbye cannot
 * pile sessions up); stop() closes them all. Sessions live in this process: behind a load
 * balancer, route a session's requests to one instance (sticky on the Mcp-Session-Id header).
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../graphql/context.ts';
import { rpcError } from './http.ts';
import { buildMcpServer } from './mcp-server.ts';
import type { McpSeam } from './seam.ts';

export const MAX_SESSIONS_PER_TOKEN = 16;
/** A burst of device changes (a fleet registered at once) becomes one notification per session. */
const NOTIFY_COALESCE_MS = 250;

export interface McpEndpoint {
  handle(req: http.IncomingMessage, res: http.ServerResponse, principal: Principal, body: Buffer | null): Promise<void>;
  close(): Promise<void>;
}

interface Session {
  id: string;
  principal: Principal;
  server: McpServer;
  transport: StreamableHTTPServerTransport;
  /** Requests and streams in progress: a session with an open stream is in use, not idle. */
  open: number;
  lastSeen: number;
  untrack: () => void;
  closeReason: string;
}

/** Devices created or deleted: every open session hears that its resource list changed. */
function relayDeviceListChanges(seam: McpSeam, sessions: () => Iterable<Session>): () => Promise<void> {
  const changes = seam.events.subscribe('deviceListChanged');
  let pending: NodeJS.Timeout | undefined;
  const notifyAll = () => {
    pending = undefined;
    for (const s of sessions()) void s.server.server.sendResourceListChanged().catch(() => undefined);
  };
  void (async () => {
    for await (const _change of changes) pending ??= setTimeout(notifyAll, NOTIFY_COALESCE_MS);
  })().catch((err: unknown) => seam.log.error({ err }, 'MCP device list watcher stopped'));
  return async () => {
    clearTimeout(pending);
    await changes.return?.();
  };
}

export function createMcpEndpoint(seam: McpSeam): McpEndpoint {
  const { log } = seam;
  const sessions = new Map<string, Session>();
  const idleMs = seam.sessionIdleSeconds * 1000;

  /** The one place a session leaves: its server closed (DELETE, idle, revocation, eviction, stop). */
  function forget(s: Session): void {
    if (!sessions.delete(s.id)) return;
    s.untrack();
    log.info({ sessionId: s.id, tokenId: s.principal.tokenId, reason: s.closeReason, sessions: sessions.size }, 'MCP session closed');
  }

  async function closeSession(s: Session, reason: string): Promise<void> {
    s.closeReason = reason;
    await s.server.close().catch((err: unknown) => log.warn({ err, sessionId: s.id }, 'closing an MCP session failed'));
    forget(s);
  }

  function evictBeyondCap(tokenId: string): void {
    const mine = [...sessions.values()].filter((s) => s.principal.tokenId === tokenId).sort((a, b) => a.lastSeen - b.lastSeen);
    for (const s of mine.slice(0, Math.max(0, mine.length - MAX_SESSIONS_PER_TOKEN))) void closeSession(s, `more than ${MAX_SESSIONS_PER_TOKEN} sessions for one token`);
  }

  async function open(principal: Principal): Promise<Session> {
    const server = buildMcpServer({ principal, execute: seam.execute, log });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        s.id = id;
        sessions.set(id, s);
        s.untrack = seam.track(principal.tokenId, () => void closeSession(s, 'token revoked or expired'));
        log.info({ sessionId: id, tokenId: principal.tokenId, role: principal.role, sessions: sessions.size }, 'MCP session opened');
        evictBeyondCap(principal.tokenId);
      },
      onsessionclosed: () => {
        s.closeReason = 'deleted by the client';
      },
    });
    const s: Session = { id: '', principal, server, transport, open: 0, lastSeen: Date.now(), untrack: () => undefined, closeReason: 'closed' };
    server.server.onclose = () => forget(s);
    await server.connect(transport);
    return s;
  }

  async function serve(s: Session, req: http.IncomingMessage, res: http.ServerResponse, parsed: unknown): Promise<void> {
    s.open++;
    s.lastSeen = Date.now();
    res.once('close', () => {
      s.open--;
      s.lastSeen = Date.now();
    });
    // A GET is the session's long-lived event stream: when it ends (the session closed, the
    // server stopping) its connection goes too, instead of idling in keep-alive and holding up
    // the server's close. (The SDK sets Connection: keep-alive on the stream itself.)
    if (req.method === 'GET') res.once('finish', () => req.socket.end());
    await s.transport.handleRequest(req, res, parsed);
  }

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const s of sessions.values()) if (s.open === 0 && now - s.lastSeen > idleMs) void closeSession(s, 'idle');
    },
    Math.max(200, Math.min(idleMs / 2, 30_000)),
  );
  sweep.unref();

  const stopWatching = relayDeviceListChanges(seam, () => sessions.values());
  let stopped = false;

  return {
    async handle(req, res, principal, body) {
      // Requests on kept-alive connections still arrive while the server stops: no new sessions then.
      if (stopped) return rpcError(res, 503, -32000, 'the server is stopping', { connection: 'close' });
      let parsed: unknown;
      if (req.method === 'POST') {
        try {
          parsed = JSON.parse(body?.toString('utf8') ?? '');
        } catch {
          return rpcError(res, 400, -32700, 'Parse error: Invalid JSON');
        }
      }
      const sessionId = req.headers['mcp-session-id'];
      if (typeof sessionId === 'string') {
        const s = sessions.get(sessionId);
        // Another token's session is as unknown as a closed one: its id alone grants nothing.
        if (!s || s.principal.tokenId !== principal.tokenId) return rpcError(res, 404, -32001, 'Session not found');
        return serve(s, req, res, parsed);
      }
      if (req.method !== 'POST') {
        const allowed = req.method === 'GET' || req.method === 'DELETE';
        return rpcError(res, allowed ? 400 : 405, -32000, allowed ? 'Bad Request: Mcp-Session-Id header is required' : 'Method not allowed', allowed ? {} : { allow: 'GET, POST, DELETE' });
      }
      if (!isInitializeRequest(parsed)) return rpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header: start a session with an initialize request');
      const s = await open(principal);
      await serve(s, req, res, parsed);
      // Refused before it began (e.g. a client that does not accept event streams): nothing to keep.
      if (!s.transport.sessionId) await s.server.close();
    },
    async close() {
      stopped = true;
      clearInterval(sweep);
      await stopWatching();
      await Promise.all([...sessions.values()].map((s) => closeSession(s, 'server stopping')));
    },
  };
}
