/**
 * MCP sessions and limits: sessions end on DELETE, when idle, when their token is revoked and
 * beyond the per-token cap; a session id is worthless with another token; the body cap, the
 * mutation rate limit and the GraphQL limits of /graphql apply to /mcp; MCP_ENABLED=false
 * removes the endpoint; foreign origins are refused; stop() does not wait for open streams.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_SESSIONS_PER_TOKEN } from '../../../src/mcp/endpoint.ts';
import { createLogger } from '../../../src/log.ts';
import { createApiToken } from '../../../src/tokens.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { call, connect, failed, until } from './support.ts';

let app: TestApp;
const log: { msg?: string; reason?: string; sessions?: number; sessionId?: string }[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) log.push(JSON.parse(l) as (typeof log)[number]);
      done();
    },
  });
  app = await startTestApp({ MCP_SESSION_IDLE_SECONDS: '1', RATE_LIMIT_MUTATIONS_PER_MINUTE: '2', REQUEST_MAX_BYTES: '4096' }, { log: createLogger('info', sink) });
  const created = await app.gql<{ createDevice: { __typename: string } }>('mutation { createDevice(input: { name: "box", hostname: "127.0.0.2", username: "u", password: "pw" }) { __typename } }');
  expect(created.body.data?.createDevice.__typename).toBe('Device');
});
afterAll(async () => {
  await app?.close();
});

/** A raw Streamable HTTP request: what a client would send, with whatever session id and token. */
async function raw(token: string | null, sessionId: string | null, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${app.server.url}/mcp`, {
    method: init.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
      ...init.headers,
    },
    body: init.method === 'GET' || init.method === 'DELETE' ? undefined : (init.body ?? JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })),
  });
}

const closedAs = (sessionId: string, reason: string) => log.some((l) => l.msg === 'MCP session closed' && l.sessionId === sessionId && l.reason === reason);

describe('MCP sessions', () => {
  test('DELETE ends a session: its id is then unknown', async () => {
    const c = await connect(app.server.url, app.adminToken);
    const id = c.transport.sessionId!;
    expect((await raw(app.adminToken, id)).status).toBe(200);
    await c.transport.terminateSession();
    expect(closedAs(id, 'deleted by the client')).toBe(true);
    expect((await raw(app.adminToken, id)).status).toBe(404);
    await c.client.close();
  });

  test('an idle session closes by itself (the client went away without a goodbye)', async () => {
    const c = await connect(app.server.url, app.adminToken);
    const id = c.transport.sessionId!;
    // While its event stream is open the session is in use, idle or not.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await raw(app.adminToken, id)).status).toBe(200);
    await c.client.close();
    await until('the idle session to close', async () => closedAs(id, 'idle'), 10_000);
    expect((await raw(app.adminToken, id)).status).toBe(404);
  });

  test('a session belongs to its token: another token, or none, gets nothing from its id', async () => {
    const other = (await createApiToken(app.db.prisma, { name: 'other', role: 'ADMIN' })).token;
    const c = await connect(app.server.url, app.adminToken);
    const id = c.transport.sessionId!;
    expect((await raw(other, id)).status).toBe(404);
    expect((await raw(null, id)).status).toBe(401);
    expect((await raw(app.adminToken, id)).status).toBe(200);
    await c.transport.terminateSession();
    await c.client.close();
  });

  test('revoking a token closes its sessions', async () => {
    const { token, apiToken } = await createApiToken(app.db.prisma, { name: 'short-lived', role: 'VIEWER' });
    // A fresh ADMIN revokes it: the app's own admin token has spent its small mutation budget.
    const revoker = (await createApiToken(app.db.prisma, { name: 'revoker', role: 'ADMIN' })).token;
    const c = await connect(app.server.url, token);
    const id = c.transport.sessionId!;
    const revoked = await app.gql<{ revokeApiToken: { __typename: string } }>(`mutation { revokeApiToken(id: "${apiToken.id}") { __typename } }`, {}, revoker);
    expect(revoked.body.data?.revokeApiToken.__typename).toBe('ApiToken');
    await until('the revoked token\'s session to close', async () => closedAs(id, 'token revoked or expired'), 10_000);
    expect((await raw(token, id)).status).toBe(401);
    await c.client.close();
  });

  test(`a token keeps at most ${MAX_SESSIONS_PER_TOKEN} sessions: the least recently used goes`, async () => {
    const token = (await createApiToken(app.db.prisma, { name: 'many', role: 'VIEWER' })).token;
    const clients = [];
    for (let i = 0; i <= MAX_SESSIONS_PER_TOKEN; i++) clients.push(await connect(app.server.url, token));
    const [oldest, ...rest] = clients;
    await until('the oldest session to be evicted', async () => closedAs(oldest!.transport.sessionId!, `more than ${MAX_SESSIONS_PER_TOKEN} sessions for one token`));
    expect((await raw(token, oldest!.transport.sessionId!)).status).toBe(404);
    expect((await raw(token, rest[0]!.transport.sessionId!)).status).toBe(200);
    for (const c of clients) await c.client.close();
  });

  test('requests from a page on another origin are refused', async () => {
    const res = await raw(app.adminToken, null, { headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(403);
    const same = await raw(app.adminToken, null, { headers: { origin: app.server.url }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
    expect(same.status).toBe(400); // past the origin check: a session must start with initialize
  });
});

describe('limits shared with /graphql', () => {
  test('the body cap: a larger request is refused with 413 before it is parsed', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_devices', arguments: { text: 'x'.repeat(5000) } } });
    expect((await raw(app.adminToken, null, { body: big })).status).toBe(413);
  });

  test('the mutation rate limit: a third poll within the minute is refused', async () => {
    const operator = (await createApiToken(app.db.prisma, { name: 'op', role: 'OPERATOR' })).token;
    const c = await connect(app.server.url, operator);
    // No poller in this app: the two allowed polls fail for that reason, the third for the budget.
    for (let i = 0; i < 2; i++) expect(failed(await call(c, 'poll_device', { device: 'box' }))).toContain('polling is not running');
    expect(failed(await call(c, 'poll_device', { device: 'box' }))).toContain('too many mutations for this token');
    await c.client.close();
  });

  test('invalid arguments and unknown tools are tool errors with a message', async () => {
    const c = await connect(app.server.url, app.adminToken);
    expect(failed(await call(c, 'list_devices', { limit: 0 }))).toMatch(/Invalid arguments for tool list_devices/);
    expect(failed(await call(c, 'no_such_tool', {}))).toContain('Tool no_such_tool not found');
    await c.client.close();
  });

  test('GraphQL limits (here depth) apply to the operations tools run', async () => {
    const shallow = await startTestApp({ GRAPHQL_MAX_DEPTH: '3' });
    try {
      const c = await connect(shallow.server.url, shallow.adminToken);
      expect(failed(await call(c, 'list_devices', {}))).toMatch(/depth/i);
      await c.client.close();
    } finally {
      await shallow.close();
    }
  });

  test('MCP_ENABLED=false: no endpoint', async () => {
    const off = await startTestApp({ MCP_ENABLED: 'false' });
    try {
      const res = await fetch(`${off.server.url}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${off.adminToken}`, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(404);
    } finally {
      await off.close();
    }
  });

  test('stopping the server does not wait for open MCP streams', async () => {
    const other = await startTestApp();
    const c = await connect(other.server.url, other.adminToken);
    await new Promise((r) => setTimeout(r, 200)); // the standalone GET stream is open
    const started = Date.now();
    await other.server.stop();
    expect(Date.now() - started).toBeLessThan(2000);
    await c.client.close();
    await other.db.close();
  });
});
