/**
 * `infrapulse mcp --url URL --token T`: for assistants that only start MCP servers as local
 * processes. Relays JSON-RPC messages between stdin/stdout and the server's Streamable HTTP
 * endpoint unchanged (the SDK's transports on both sides), so the server decides everything:
 * tools, roles, limits. Nothing but protocol goes to stdout; problems go to stderr.
 */
import { parseArgs } from 'node:util';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { InitializeResultSchema, isJSONRPCRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { MCP_PATH } from './index.ts';

export const MCP_BRIDGE_USAGE = `usage: infrapulse mcp --url URL --token T
  A stdio MCP server that relays to the MCP endpoint of an infrapulse server.
  --url    the server (http://127.0.0.1:9101) or its endpoint (http://127.0.0.1:9101/mcp)
  --token  an API token (VIEWER reads; OPERATOR may also poll devices and acknowledge alerts)`;

const say = (line: string) => void process.stderr.write(`infrapulse mcp: ${line}\n`);

/** "HTTP 401: a valid API token is required…" rather than the SDK's wrapper around the server's JSON-RPC answer. */
export function describe(err: Error): string {
  const status = err instanceof StreamableHTTPError && err.code && err.code > 0 ? `HTTP ${err.code}: ` : '';
  const body = /\{.*\}\s*$/s.exec(err.message)?.[0];
  if (body) {
    try {
      const parsed = JSON.parse(body) as { error?: { message?: unknown } };
      if (typeof parsed.error?.message === 'string') return status + parsed.error.message;
    } catch {
      // not the server's JSON: keep the SDK's message
    }
  }
  return status + err.message;
}

/** The endpoint URL, or why the given one cannot be used. */
export function endpointUrl(given: string): URL | string {
  if (!URL.canParse(given)) return `--url ${JSON.stringify(given)} is not a URL`;
  const url = new URL(given);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `--url must be http:// or https://, not ${url.protocol}`;
  if (url.pathname === '/' || url.pathname === '') url.pathname = MCP_PATH;
  return url;
}

export async function runMcpBridge(argv: string[]): Promise<number> {
  let values: { url?: string; token?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { url: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    process.stderr.write(`infrapulse mcp: ${(e as Error).message}\n${MCP_BRIDGE_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${MCP_BRIDGE_USAGE}\n`);
    return 0;
  }
  if (!values.url || !values.token) {
    process.stderr.write(`${MCP_BRIDGE_USAGE}\n`);
    return 2;
  }
  const url = endpointUrl(values.url);
  if (typeof url === 'string') {
    say(url);
    return 2;
  }
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) say(`warning: the token travels unencrypted to ${url.host}: prefer https://`);
  await relay(url, values.token);
  return 0;
}

/** Runs until stdin ends (the assistant went away) or stdout closes; then ends the remote session. */
async function relay(url: URL, token: string): Promise<void> {
  const remote = new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const local = new StdioServerTransport();
  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  local.onmessage = (message: JSONRPCMessage) => {
    // The transport reports a failed send to onerror (below) too.
    remote.send(message).catch((err: Error) => {
      // The assistant waits for an answer to each request: give it the failure instead of silence.
      if (isJSONRPCRequest(message)) void local.send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: `infrapulse MCP endpoint: ${describe(err)}` } });
    });
  };
  remote.onmessage = (message: JSONRPCMessage) => {
    // Later requests carry the negotiated protocol version, as the SDK's Client does it.
    const init = 'result' in message ? InitializeResultSchema.safeParse(message.result) : null;
    if (init?.success) remote.setProtocolVersion(init.data.protocolVersion);
    void local.send(message);
  };
  remote.onerror = (err) => say(describe(err));
  local.onerror = (err) => say(err.message);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await remote.terminateSession().catch(() => undefined);
    await remote.close().catch(() => undefined);
    await local.close().catch(() => undefined);
    finish();
  };
  process.stdin.once('end', () => void stop());
  process.stdout.once('error', () => void stop());
  await remote.start();
  await local.start();
  await finished;
}
