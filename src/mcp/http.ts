import type http from 'node:http';

/** A JSON-RPC error answer outside any session (the form the SDK's transport uses for its own refusals). */
export function rpcError(res: http.ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
