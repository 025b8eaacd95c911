/**
 * The configurable limits: per-token mutation rate, per-address failed logins, batching,
 * body size, subscriptions per socket, introspection and GraphiQL switches, error masking.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { MAX_SUBSCRIPTIONS_PER_SOCKET } from '../../../src/server/index.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { expectServing, graphqlSse, postRaw, rawPeer, within, yogaSse } from './support.ts';

const apps: TestApp[] = [];
async function app(env: Record<string, string> = {}): Promise<TestApp> {
  const a = await startTestApp(env);
  apps.push(a);
  return a;
}
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

const CREATE = 'mutation ($n: String!) { createApiToken(input: { name: $n, role: VIEWER }) { __typename } }';

describe('rate limits', () => {
  test('mutations per token: the bucket runs dry with RATE_LIMITED (429), other tokens are unaffected, queries still pass', async () => {
    const a = await app({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '3' });
    const other = await a.gql<{ createApiToken: { token: string } }>('mutation { createApiToken(input: { name: "other", role: ADMIN }) { ... on CreatedApiToken { token } } }');
    const otherToken = other.body.data!.createApiToken.token;
    for (let i = 0; i < 2; i++) expect((await a.gql(CREATE, { n: `t${i}` })).body.data).toEqual({ createApiToken: { __typename: 'CreatedApiToken' } });
    const limited = await a.gql(CREATE, { n: 'too many' });
    expect(limited.status).toBe(429);
    expect(limited.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(limited.body.errors?.[0]?.message).toMatch(/too many mutations for this token: try again in \d+ s/);
    expect(await a.db.prisma.apiToken.count({ where: { name: 'too many' } })).toBe(0);
    expect((await a.gql(CREATE, { n: 'by other' }, otherToken)).body.data).toEqual({ createApiToken: { __typename: 'CreatedApiToken' } });
    await expectServing(a);
  });

  test('mutations are counted after fragments are expanded and across a batch: the limit holds however they are packed', async () => {
    const a = await app({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '10' });
    const fields = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}: createApiToken(input: { name: "${prefix}${i}", role: VIEWER }) { __typename }`).join(' ');
    const created = () => a.db.prisma.apiToken.count({ where: { name: { not: 'test admin' } } });
    // Twelve mutations behind one inline fragment: one root selection, twelve mutations.
    const inline = await a.gql(`mutation { ... on Mutation { ${fields('i', 12)} } }`);
    expect(inline.status).toBe(429);
    expect(inline.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // A named fragment, nested in another.
    const named = await a.gql(`mutation { ...Outer } fragment Outer on Mutation { ...Inner } fragment Inner on Mutation { ${fields('n', 11)} }`);
    expect(named.status).toBe(429);
    // Picked by name behind a query: the operation charged is the one that runs, not the first.
    const picked = await postRaw(a, JSON.stringify({ query: `query First { health { status } } mutation Many { ${fields('p', 11)} }`, operationName: 'Many' }));
    expect(picked.status).toBe(429);
    expect(await created()).toBe(0);
    // A batch of four operations of four mutations each: at most ten run, whatever the order.
    const res = await postRaw(a, JSON.stringify(['b', 'c', 'd', 'e'].map((p) => ({ query: `mutation { ... on Mutation { ${fields(p, 4)} } }` }))));
    const answers = JSON.parse(res.text) as { data?: unknown; errors?: { extensions?: { code?: string } }[] }[];
    expect(answers.filter((r) => r.errors?.[0]?.extensions?.code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(2);
    expect(await created()).toBeLessThanOrEqual(10);
    expect(await created()).toBe(answers.filter((r) => r.data).length * 4);
  });

  test('failed logins per address: 401 until the budget is spent, then 429 with Retry-After on HTTP, SSE and WebSocket', async () => {
    const a = await app({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' });
    for (let i = 0; i < 3; i++) expect((await a.gql('{ health { status } }', undefined, `ipt_wrong${i}`)).status).toBe(401);
    const blocked = await a.gql('{ health { status } }', undefined, 'ipt_wrong-again');
    expect(blocked.status).toBe(429);
    expect(blocked.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const raw = await fetch(`${a.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ health { status } }"}' });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThan(0);
    const sse = await fetch(`${a.server.url}/graphql/stream`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: '{"query":"subscription { metricCollected { cpuPercent } }"}' });
    expect(sse.status).toBe(429);
    const peer = rawPeer(a);
    await expect(peer.opened).rejects.toThrow('HTTP 429');
    // The block covers the address, valid tokens included: a blocked address cannot test guesses.
    expect((await a.gql('{ health { status } }')).status).toBe(429);
    expect((await fetch(`${a.server.url}/healthz`)).status).toBe(200);
  });

  test('failed graphql-ws logins count too', async () => {
    const a = await app({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '2' });
    for (let i = 0; i < 2; i++) {
      const peer = rawPeer(a);
      await peer.opened;
      peer.send({ type: 'connection_init', payload: { authorization: 'Bearer ipt_nope' } });
      expect((await peer.closed).code).toBe(4403);
    }
    await expect(rawPeer(a).opened).rejects.toThrow('HTTP 429');
  });
});

describe('request shape limits', () => {
  test('a body over REQUEST_MAX_BYTES is 413, declared or streamed, and the server keeps serving', async () => {
    const a = await app({ REQUEST_MAX_BYTES: '4096' });
    const big = JSON.stringify({ query: '{ health { status } }', variables: { pad: 'x'.repeat(5000) } });
    const declared = await postRaw(a, big);
    expect(declared.status).toBe(413);
    expect(declared.text).toContain('request body larger than 4096 bytes');
    const streamed = await fetch(`${a.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.adminToken}` },
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await postRaw(a, big, {}, '/graphql/stream')).status).toBe(413);
    const fits = await postRaw(a, JSON.stringify({ query: '{ health { status } }', variables: { pad: 'x'.repeat(3000) } }));
    expect(fits.status).toBe(200);
    await expectServing(a);
  });

  test('batching: up to GRAPHQL_BATCH_LIMIT operations per request, more is refused', async () => {
    const a = await app({ GRAPHQL_BATCH_LIMIT: '2' });
    const op = { query: '{ health { status } }' };
    const two = await postRaw(a, JSON.stringify([op, op]));
    expect(two.status).toBe(200);
    expect(JSON.parse(two.text)).toEqual([{ data: { health: { status: 'OK' } } }, { data: { health: { status: 'OK' } } }]);
    const three = await postRaw(a, JSON.stringify([op, op, op]));
    expect(three.status).toBe(413);
    expect(three.text).toMatch(/Batching is limited to 2 operations per request/);
    const off = await app({ GRAPHQL_BATCH_LIMIT: '0' });
    expect((await postRaw(off, JSON.stringify([op]))).status).toBeGreaterThanOrEqual(400);
  });

  test('GRAPHQL_MAX_COST prices a subscription as it prices a query: refused over graphql-ws, graphql-sse and Yoga SSE before its group starts, a cheap one beside it runs', async () => {
    const a = await app({ GRAPHQL_MAX_COST: '100' });
    const costly = '{ device(id: "x") { statusChanges(limit: 100) { at previous current reason } } }';
    const query = await postRaw(a, JSON.stringify({ query: costly }));
    expect(query.text).toMatch(/cost limit of 100 exceeded: this operation may return \d+ values/);
    const peer = rawPeer(a);
    await peer.opened;
    peer.send({ type: 'connection_init', payload: { authorization: `Bearer ${a.adminToken}` } });
    await peer.next('connection_ack');
    peer.send({ id: 'costly', type: 'subscribe', payload: { query: 'subscription { containerStateChanged { device { statusChanges(limit: 100) { at previous current reason } } } }' } });
    // As a query refused by the limit: one result with the error, then complete.
    expect(await peer.next('next')).toEqual({ id: 'costly', type: 'next', payload: { errors: [expect.objectContaining({ message: expect.stringMatching(/cost limit of 100 exceeded: this operation may return \d+ values/), extensions: expect.objectContaining({ code: 'COST_LIMIT_EXCEEDED' }) })] } });
    expect(await peer.next('complete')).toEqual({ id: 'costly', type: 'complete' });
    peer.send({ id: 'cheap', type: 'subscribe', payload: { query: 'subscription { metricCollected { cpuPercent } }' } });
    peer.send({ id: 'q', type: 'subscribe', payload: { query: '{ health { status } }' } });
    expect(await peer.next('next')).toEqual({ id: 'q', type: 'next', payload: { data: { health: { status: 'OK' } } } });
    // Nothing came for the cheap one: not refused, waiting for its first event.
    expect(peer.messages.filter((m) => (m as { id?: string }).id === 'cheap')).toEqual([]);
    peer.ws.close();
    // The SSE transports refuse it the same way and end the stream.
    for (const open of [yogaSse, graphqlSse]) {
      const stream = await open(a, a.adminToken, 'subscription { containerStateChanged { device { statusChanges(limit: 100) { at previous current reason } } } }');
      await within(stream.ended, 5000, `the ${open.name} stream to end`);
      expect(stream.text(), open.name).toMatch(/cost limit of 100 exceeded: this operation may return \d+ values/);
    }
  });

  test(`at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per WebSocket; the socket stays usable`, async () => {
    const a = await app();
    const peer = rawPeer(a);
    await peer.opened;
    peer.send({ type: 'connection_init', payload: { authorization: `Bearer ${a.adminToken}` } });
    await peer.next('connection_ack');
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_SOCKET; i++) peer.send({ id: `s${i}`, type: 'subscribe', payload: { query: 'subscription { metricCollected { cpuPercent } }' } });
    await new Promise((r) => setTimeout(r, 200));
    peer.send({ id: 'one-too-many', type: 'subscribe', payload: { query: 'subscription { metricCollected { cpuPercent } }' } });
    const error = await peer.next('error');
    expect(error).toEqual({ id: 'one-too-many', type: 'error', payload: [expect.objectContaining({ message: `at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection` })] });
    peer.send({ id: 's0', type: 'complete' });
    await new Promise((r) => setTimeout(r, 100));
    peer.send({ id: 'q', type: 'subscribe', payload: { query: '{ health { status } }' } });
    expect(await peer.next('next')).toEqual({ id: 'q', type: 'next', payload: { data: { health: { status: 'OK' } } } });
    peer.ws.close();
  });
});

describe('production switches', () => {
  test('INTROSPECTION_ENABLED=false refuses __schema and __type and gives no field suggestions; GRAPHIQL_ENABLED=false serves no page', async () => {
    const a = await app({ INTROSPECTION_ENABLED: 'false', GRAPHIQL_ENABLED: 'false' });
    const schemaQ = await a.gql('{ __schema { types { name } } }');
    expect(schemaQ.body.data).toBeUndefined();
    expect(schemaQ.body.errors?.[0]?.message).toMatch(/introspection/i);
    const typeQ = await a.gql('{ __type(name: "Query") { name } }');
    expect(typeQ.body.errors?.[0]?.message).toMatch(/introspection/i);
    const typo = await a.gql('{ healt { status } }');
    expect(typo.body.errors?.[0]?.message).not.toMatch(/did you mean/i);
    expect(JSON.stringify(typo.body)).not.toContain('health');
    expect((await a.gql('{ __typename }')).body.data).toEqual({ __typename: 'Query' });
    const page = await fetch(`${a.server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });

  test('INTROSPECTION_ENABLED=false: no "Did you mean" anywhere (enum values, arguments, input fields, types, variables, subscription variables over graphql-ws)', async () => {
    const a = await app({ INTROSPECTION_ENABLED: 'false' });
    const probes: [string, Record<string, unknown> | undefined, string][] = [
      ['mutation { createApiToken(input: { name: "x", role: ADMN }) { __typename } }', undefined, 'ADMIN'],
      ['{ devices(serch: "x") { totalCount } }', undefined, 'search'],
      ['{ health { ... on Healt { status } } }', undefined, '"Health"'],
      ['mutation { createApiToken(input: { nme: "x", role: VIEWER }) { __typename } }', undefined, '"name"'],
      ['mutation ($r: Role!) { createApiToken(input: { name: "x", role: $r }) { __typename } }', { r: 'ADMN' }, 'ADMIN'],
      ['query ($d: CreateDeviceInpt) { __typename }', undefined, 'CreateDeviceInput'],
    ];
    for (const [query, variables, leaked] of probes) {
      const res = await a.gql(query, variables);
      expect(res.body.errors?.length, query).toBeGreaterThan(0);
      const text = JSON.stringify(res.body);
      expect(text, query).not.toMatch(/did you mean/i);
      expect(text, query).not.toContain(leaked);
    }
    // A subscription's variables are coerced when its stream starts, outside Yoga's pipeline.
    const peer = rawPeer(a);
    await peer.opened;
    peer.send({ type: 'connection_init', payload: { authorization: `Bearer ${a.adminToken}` } });
    await peer.next('connection_ack');
    peer.send({ id: 's', type: 'subscribe', payload: { query: 'subscription ($s: [AlertState!]) { alertChanged(status: $s) { __typename } }', variables: { s: ['FIRNG'] } } });
    const refused = JSON.stringify(await Promise.race([peer.next('next'), peer.next('error')]));
    expect(refused).toMatch(/FIRNG/);
    expect(refused).not.toMatch(/did you mean|"FIRING"/i);
    peer.ws.close();
    // With introspection on, suggestions stay (they help people exploring in GraphiQL).
    const open = await app();
    expect((await open.gql('{ devices(serch: "x") { totalCount } }')).body.errors?.[0]?.message).toMatch(/Did you mean "search"/);
  });

  test('by default introspection works and GraphiQL is served', async () => {
    const a = await app();
    expect((await a.gql<{ __schema: { queryType: { name: string } } }>('{ __schema { queryType { name } } }')).body.data?.__schema.queryType.name).toBe('Query');
    const page = await fetch(`${a.server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);
  });

  test('an unexpected error is masked: its message never reaches the client', async () => {
    const a = await app();
    // A database failure whose message carries what must not leak.
    const { prisma } = a.services.db;
    const failing = new Proxy(prisma, {
      get: (target, prop) =>
        prop === 'apiToken'
          ? { findMany: () => Promise.reject(new Error('connect to postgres://monitor:hunter2@db.internal failed')) }
          : Reflect.get(target, prop),
    });
    a.services.db = { ...a.services.db, prisma: failing };
    const res = await a.gql('{ apiTokens { id } }');
    expect(res.body.errors?.[0]?.message).toBe('Unexpected error.');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(res.body)).not.toMatch(/hunter2|db\.internal|postgres/);
  });
});
