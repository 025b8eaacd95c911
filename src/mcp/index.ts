/**
 * The MCP endpoint on /mcp (Model Context Protocol, Streamable HTTP, the official SDK): the fleet
 * for AI assistants, with the same tokens, roles and limits as /graphql, because every tool is
 * a GraphQL operation run through the server's own execution (see seam.ts).
 *
 *   index.ts       createMcpRoute(seam): auth and origin checks, then the endpoint (loaded on first use)
 *   endpoint.ts    sessions: one MCP server + transport each, bound to a token; idle and revoked ones close
 *   mcp-server.ts  the tools and resources of a session
 *   tools/*.ts     list_devices, get_device, poll_device, metric_history, list_alerts, acknowledge_alert, fleet_summary
 *   resources.ts   infrapulse://devices/<id>, with list-changed notifications
 *   bridge.ts      `infrapulse mcp --url --token`: stdio ⇄ Streamable HTTP for stdio-only assistants
 */
import type http from 'node:http';
import type { McpEndpoint } from './endpoint.ts';
import { rpcError } from './http.ts';
import type { McpSeam } from './seam.ts';

export type { McpSeam, AuthVerdict, GraphqlRequest, GraphqlResult } from './seam.ts';
export { envelopedExecutor } from './execute.ts';

export const MCP_PATH = '/mcp';

export interface McpRoute {
  /** True when the request was for /mcp (and has been answered). `body`: the already read, capped body. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, path: string, body: Buffer | null): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A browser page on another origin must not drive the endpoint (DNS rebinding): the Bearer token
 * already stops it, and a request carrying a foreign Origin is refused before the token is looked at.
 */
function foreignOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

export function createMcpRoute(seam: McpSeam): McpRoute {
  // The SDK costs ≈30 MB of memory once loaded: a server nobody connects an assistant to never loads it.
  let endpoint: Promise<McpEndpoint> | undefined;
  return {
    async handle(req, res, path, body) {
      if (path !== MCP_PATH) return false;
      if (foreignOrigin(req)) {
        rpcError(res, 403, -32000, 'Forbidden: requests from another origin are not accepted');
        return true;
      }
      const verdict = await seam.authenticate(req.headers.authorization, req.socket.remoteAddress ?? 'unknown');
      if ('status' in verdict) {
        if (verdict.status === 429) {
          rpcError(res, 429, -32000, `too many failed logins from this address: try again in ${verdict.retryAfterSeconds} s`, { 'retry-after': String(verdict.retryAfterSeconds) });
        } else {
          rpcError(res, 401, -32000, 'a valid API token is required: send "Authorization: Bearer <token>"', { 'www-authenticate': 'Bearer' });
        }
        return true;
      }
      endpoint ??= import('./endpoint.ts').then((m) => m.createMcpEndpoint(seam));
      await (await endpoint).handle(req, res, verdict.principal, body);
      return true;
    },
    async close() {
      if (endpoint) await endpoint.then((e) => e.close(), () => undefined);
    },
  };
}
