/**
 * Token lifecycle: listing and revoking (ADMIN only), and a revoked or expired token's open
 * subscriptions on every transport closing within 5 s.
 */
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WS_CLOSE_TOKEN_INVALID } from '../../../src/server/index.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { graphqlSse, publishUntil, SUBSCRIPTION, within, wsUrl, yogaSse } from './support.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => app?.close());

async function newToken(name: string, role = 'VIEWER', expiresAt?: string): Promise<{ id: string; token: string }> {
  const res = await app.gql<{ createApiToken: { token: string; apiToken: { id: string } } }>(
    'mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { ... on CreatedApiToken { token apiToken { id } } ... on ValidationError { message } } }',
    { input: { name, role, expiresAt } },
  );
  const created = res.body.data?.createApiToken;
  if (!created?.token) throw new Error(JSON.stringify(res.body));
  return { id: created.apiToken.id, token: created.token };
}

/** One subscription per transport, each confirmed delivering. */
async function openEverywhere(token: string) {
  const closes: { code: number; reason: string }[] = [];
  const client = createWsClient({
    url: wsUrl(app),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { closed: (e) => void closes.push({ code: (e as { code: number }).code, reason: (e as { reason: string }).reason }) },
  });
  let wsGot = 0;
  const wsDone = new Promise<unknown>((resolve) => {
    client.subscribe({ query: SUBSCRIPTION }, { next: () => void wsGot++, error: resolve, complete: () => resolve('complete') });
  });
  const yoga = await yogaSse(app, token);
  const sse = await graphqlSse(app, token);
  expect([yoga.status, sse.status]).toEqual([200, 200]);
  await publishUntil(app, () => wsGot > 0 && yoga.text().includes('42.5') && sse.text().includes('42.5'));
  return { client, closes, wsDone, yoga, sse };
}

describe('apiTokens and revokeApiToken', () => {
  test('list shows tokens without secrets; VIEWER may not list or revoke; unknown ids are NotFoundError', async () => {
    const viewer = await newToken('lister', 'VIEWER');
    const list = await app.gql<{ apiTokens: { id: string; name: string; role: string; revokedAt: string | null }[] }>('{ apiTokens { id name role revokedAt } }');
    expect(list.body.data?.apiTokens.find((t) => t.id === viewer.id)).toEqual({ id: viewer.id, name: 'lister', role: 'VIEWER', revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain('ipt_');
    const denied = await app.gql('{ apiTokens { id } }', undefined, viewer.token);
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const deniedRevoke = await app.gql(`mutation { revokeApiToken(id: "${viewer.id}") { ... on ApiToken { id } } }`, undefined, viewer.token);
    expect(deniedRevoke.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const missing = await app.gql<{ revokeApiToken: { __typename: string } }>('mutation { revokeApiToken(id: "00000000-0000-4000-8000-000000000000") { __typename } }');
    expect(missing.body.data?.revokeApiToken.__typename).toBe('NotFoundError');
    const injected = await app.gql<{ revokeApiToken: { __typename: string } }>(`mutation { revokeApiToken(id: "' OR 1=1 --") { __typename } }`);
    expect(injected.body.data?.revokeApiToken.__typename).toBe('NotFoundError');
  });

  test('revocation: the token gets 401 at once and its subscriptions on all three transports close within 5 s', async () => {
    const { id, token } = await newToken('to-revoke');
    const open = await openEverywhere(token);
    const started = Date.now();
    const revoked = await app.gql<{ revokeApiToken: { id: string; revokedAt: string } }>(`mutation { revokeApiToken(id: "${id}") { ... on ApiToken { id revokedAt } } }`);
    expect(revoked.body.data?.revokeApiToken.revokedAt).toBeTruthy();
    await within(Promise.all([open.wsDone, open.yoga.ended, open.sse.ended]), 5000, 'closing every subscription');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(open.closes[0]).toEqual({ code: WS_CLOSE_TOKEN_INVALID, reason: 'Unauthorized: token revoked' });
    expect((await app.gql('{ health { status } }', undefined, token)).status).toBe(401);
    // Revoking twice keeps the first time.
    const again = await app.gql<{ revokeApiToken: { revokedAt: string } }>(`mutation { revokeApiToken(id: "${id}") { ... on ApiToken { revokedAt } } }`);
    expect(again.body.data?.revokeApiToken.revokedAt).toBe(revoked.body.data?.revokeApiToken.revokedAt);
    await open.client.dispose();
  });

  test('revocation outside the API (CLI, SQL, another instance) is caught by the sweep within 5 s', async () => {
    const { id, token } = await newToken('revoked-in-sql');
    const open = await openEverywhere(token);
    await app.db.pool.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [id]);
    await within(Promise.all([open.wsDone, open.yoga.ended, open.sse.ended]), 5000, 'closing after an out-of-band revocation');
    expect(open.closes[0]?.code).toBe(WS_CLOSE_TOKEN_INVALID);
    await open.client.dispose();
  });

  test('expiry: subscriptions of a token close within 5 s of its expiresAt', async () => {
    const expiresAt = new Date(Date.now() + 2500);
    const { token } = await newToken('short-lived', 'VIEWER', expiresAt.toISOString());
    const open = await openEverywhere(token);
    await within(Promise.all([open.wsDone, open.yoga.ended, open.sse.ended]), 15_000, 'closing at expiry');
    expect(Date.now() - expiresAt.getTime()).toBeLessThan(5000);
    expect(open.closes[0]).toEqual({ code: WS_CLOSE_TOKEN_INVALID, reason: 'Unauthorized: token expired' });
    expect((await app.gql('{ health { status } }', undefined, token)).status).toBe(401);
    await open.client.dispose();
  });

  test('other tokens\' subscriptions stay open', async () => {
    const keep = await newToken('keeper');
    const drop = await newToken('dropper');
    const kept = await openEverywhere(keep.token);
    const dropped = await openEverywhere(drop.token);
    await app.gql(`mutation { revokeApiToken(id: "${drop.id}") { __typename } }`);
    await within(Promise.all([dropped.wsDone, dropped.yoga.ended, dropped.sse.ended]), 5000, 'closing the revoked token');
    const before = kept.yoga.text().length;
    await publishUntil(app, () => kept.yoga.text().length > before);
    expect(kept.closes).toEqual([]);
    kept.yoga.abort();
    kept.sse.abort();
    await kept.client.dispose();
    await dropped.client.dispose();
  });
});
