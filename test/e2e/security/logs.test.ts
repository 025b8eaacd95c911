/**
 * Secrets never reach the log: a server run at level trace handles a private key, a password
 * and API tokens (good and bad, over HTTP and WebSocket), an internal error quoting secrets,
 * and direct log calls carrying them; the captured lines are then searched for each secret.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createSecretBox } from '../../../src/db/secrets.ts';
import { createEventBus } from '../../../src/events/index.ts';
import type { Services } from '../../../src/graphql/context.ts';
import { createLogger } from '../../../src/log.ts';
import { buildServer, type ServerHandle } from '../../../src/server/index.ts';
import { createApiToken } from '../../../src/tokens.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { generateEd25519Key } from '../../../src/transport/keys.ts';

const PASSPHRASE = 'correct horse battery staple';
// A real key (the API validates keys), encrypted with the passphrase; its middle line must never be logged.
const PRIVATE_KEY = generateEd25519Key({ passphrase: PASSPHRASE });
const KEY_BODY = PRIVATE_KEY.split('\n')[2]!;
const PASSWORD = 'Tr0ub4dor&3-never-logged';
const BAD_TOKEN = `ipt_${randomBytes(32).toString('base64url')}`;

const lines: string[] = [];
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let server: ServerHandle;
let services: Services;
let dataDir: string;
let admin: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-logs-'));
  const log = createLogger('trace', { write: (s: string) => void lines.push(s) });
  services = {
    config: loadConfig({ PORT: '0', DATA_DIR: dataDir, DATABASE_URL: db.url, POLLING_ENABLED: 'false', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0' }),
    db,
    events: createEventBus(),
    log,
    secrets: createSecretBox(randomBytes(32)),
    startedAt: new Date(),
    version: 'test',
    subscribers: { ws: 0, sse: 0 },
  };
  server = buildServer(services);
  await server.start();
  admin = (await createApiToken(db.prisma, { name: 'admin', role: 'ADMIN' })).token;
});
afterAll(async () => {
  await server?.stop();
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function gql(query: string, variables?: Record<string, unknown>, token: string | null = admin) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] } };
}

test('a run handling a private key, a password and tokens logs none of them', async () => {
  // Tokens: one created (its value comes back once), one revoked, bad ones over HTTP and WebSocket.
  const created = await gql('mutation { createApiToken(input: { name: "ci", role: VIEWER }) { ... on CreatedApiToken { token apiToken { id } } } }');
  const made = created.body.data?.createApiToken as { token: string; apiToken: { id: string } };
  expect(made.token).toMatch(/^ipt_/);
  await gql(`mutation { revokeApiToken(id: "${made.apiToken.id}") { __typename } }`);
  expect((await gql('{ health { status } }', undefined, made.token)).status).toBe(401);
  expect((await gql('{ health { status } }', undefined, BAD_TOKEN)).status).toBe(401);
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
  await new Promise<void>((resolve) => {
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${BAD_TOKEN}` } })));
    ws.on('close', () => resolve());
  });

  // Secrets through the API: stored credentials and devices, one accepted and one refused of each.
  // The typename, with a refusal's issues after it so that an unexpected refusal says why.
  const typename = async (mutation: string, input: Record<string, unknown>) => {
    const selection = '{ __typename ... on ValidationError { issues { path message } } }';
    const res = await gql(`mutation ($input: ${mutation[0]!.toUpperCase()}${mutation.slice(1)}Input!) { ${mutation}(input: $input) ${selection} }`, { input });
    expect(res.status).toBe(200);
    const result = res.body.data?.[mutation] as { __typename: string; issues?: unknown[] } | undefined;
    return result?.issues ? `${result.__typename} ${JSON.stringify(result.issues)}` : result?.__typename;
  };
  expect(await typename('createCredential', { name: 'k', privateKey: PRIVATE_KEY, passphrase: PASSPHRASE })).toBe('Credential');
  expect(await typename('createCredential', { name: 'p', password: PASSWORD })).toBe('Credential');
  expect(await typename('createDevice', { name: 'd1', hostname: 'h.example', username: 'u', password: PASSWORD })).toBe('Device');
  expect(await typename('createDevice', { name: 'bad name \u0000', hostname: '$(x)', username: 'u', privateKey: PRIVATE_KEY })).toMatch(/^ValidationError /);

  // An unexpected error whose message quotes secrets: masked for the client, scrubbed in the log.
  const { prisma } = db;
  services.db = {
    ...db,
    prisma: new Proxy(prisma, {
      get: (t, p) =>
        p === 'apiToken' ? { findMany: () => Promise.reject(new Error(`login as postgres://monitor:${PASSWORD}@db failed with ${PRIVATE_KEY} and Bearer ${admin}`)) } : Reflect.get(t, p),
    }),
  };
  expect((await gql('{ apiTokens { id } }')).body.errors?.[0]?.message).toBe('Unexpected error.');
  services.db = db;

  // What other modules might hand the logger.
  const log = services.log;
  log.info({ password: PASSWORD, privateKey: PRIVATE_KEY, token: admin }, 'flat');
  log.info({ input: { password: PASSWORD, passphrase: PASSPHRASE, privateKey: PRIVATE_KEY } }, 'one level down');
  log.info({ variables: { input: { credential: { password: PASSWORD, secretKey: 'aa'.repeat(32) } } } }, 'deep');
  log.info({ req: { headers: { authorization: `Bearer ${admin}`, cookie: 'session=abc' } } }, 'request');
  log.info({ connectionParams: { Authorization: `Bearer ${admin}` } }, 'ws params');
  log.error({ err: new Error(`ssh failed with key ${PRIVATE_KEY}`) }, 'error object');
  log.warn(`string message with ${admin} and ${PRIVATE_KEY}`);
  log.info({ list: [{ password: PASSWORD }], url: `postgresql://u:${PASSWORD}@h/db` }, 'arrays and URLs');
  await new Promise((r) => setTimeout(r, 50));

  const text = lines.join('');
  // The capture worked, and the events were logged.
  for (const expected of ['refused: missing or invalid API token', 'api token revoked', 'unexpected error in an operation (masked)', 'deep', 'error object']) expect(text).toContain(expected);
  for (const secret of [PASSWORD, PASSPHRASE, KEY_BODY, 'BEGIN OPENSSH PRIVATE KEY', admin, made.token, BAD_TOKEN, 'aa'.repeat(32), 'session=abc']) {
    expect(text.includes(secret), `the log contains ${secret.slice(0, 12)}…`).toBe(false);
  }
  expect(text).toContain('[redacted]');
});
