/**
 * Queries run compiled (src/server/jit.ts), and so does each event of a subscription group
 * (src/server/groups.ts); a document with a field or alias named `__proto__`, which
 * graphql-jit's object literals would turn into a prototype (the field missing from the
 * response), runs on graphql-js and answers as before. Groups that differ only in their
 * variables share one compile of their document.
 */
import { print } from 'graphql';
import { compileQuery } from 'graphql-jit';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { toWire } from '../../../src/events/index.ts';
import { activeSubscriptions } from '../../../src/graphql/types/live.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { systemRow } from '../../helpers/rows.ts';
import { until } from '../../helpers/until.ts';

// The real compileQuery, counted: the subscription groups import it from here.
vi.mock('graphql-jit', async (importOriginal) => {
  const real = await importOriginal<typeof import('graphql-jit')>();
  return { ...real, compileQuery: vi.fn(real.compileQuery) };
});

let app: TestApp;
let deviceId: string;
beforeAll(async () => {
  app = await startTestApp();
  deviceId = (await app.db.prisma.device.create({ data: { name: 'jit-1', hostname: 'jit-1.example' } })).id;
});
afterAll(async () => {
  await app?.close();
});

const own = (o: unknown, key: string): unknown => Object.getOwnPropertyDescriptor(o, key)?.value;
const wsClient = () => createClient({ url: app.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
/** compileQuery calls so far for documents whose text contains `marker`. */
const compilesOf = (marker: string): number => vi.mocked(compileQuery).mock.calls.filter(([, document]) => print(document).includes(marker)).length;

describe('compiled execution', () => {
  it('keeps a __proto__ alias as a field of the response, at any depth', async () => {
    const top = await app.gql<Record<string, unknown>>('{ __proto__: __typename }');
    expect(Object.keys(top.body.data!)).toEqual(['__proto__']);
    expect(own(top.body.data, '__proto__')).toBe('Query');
    const nested = await app.gql<{ devices: { edges: { node: Record<string, unknown> }[] } }>('{ devices { edges { node { __proto__: name hostname } } } }');
    const node = nested.body.data!.devices.edges[0]!.node;
    expect(Object.keys(node)).toEqual(['__proto__', 'hostname']);
    expect(own(node, '__proto__')).toBe('jit-1');
  });

  it('answers ordinary queries the same, aliases and fragments included', async () => {
    const res = await app.gql<unknown>('query { a: devices(first: 1) { edges { node { ...D n: name } } } } fragment D on Device { hostname status }');
    expect(res.body).toEqual({ data: { a: { edges: [{ node: { hostname: 'jit-1.example', status: 'UNKNOWN', n: 'jit-1' } }] } } });
  });
});

describe('compiled subscription events', () => {
  it('deliver the same fields, scalars and aliases as graphql-js, a __proto__ alias included', async () => {
    const client = wsClient();
    const got: { plain: unknown[]; proto: { data?: Record<string, unknown> | null }[] } = { plain: [], proto: [] };
    const stops = [
      client.subscribe<unknown>({ query: 'subscription { metricCollected { deviceId c: cpuPercent time ...F } } fragment F on SystemMetrics { load1 }' }, { next: (r) => void got.plain.push(r), error: () => undefined, complete: () => undefined }),
      client.subscribe<Record<string, unknown>>({ query: 'subscription { metricCollected { __proto__: deviceId cpuPercent } }' }, { next: (r) => void got.proto.push(r), error: () => undefined, complete: () => undefined }),
    ];
    try {
      await until(() => activeSubscriptions().metricCollected === 2, 'both subscriptions');
      const time = new Date(Date.UTC(2026, 11, 5, 14, 0, 0));
      app.services.events.publish('metricCollected', { deviceId, sample: toWire(systemRow(deviceId, time, { cpuPercent: 42.5, load1: 0.25 })) });
      await until(() => got.plain.length === 1 && got.proto.length === 1, 'one event on each');
      expect(got.plain[0]).toEqual({ data: { metricCollected: { deviceId, c: 42.5, time: time.toISOString(), load1: 0.25 } } });
      const proto = got.proto[0]!.data?.metricCollected;
      expect(Object.keys(proto as object)).toEqual(['__proto__', 'cpuPercent']);
      expect(own(proto, '__proto__')).toBe(deviceId);
      // The plain document ran compiled; the __proto__ one never reached graphql-jit.
      expect(compilesOf('fragment F on SystemMetrics')).toBe(1);
      expect(compilesOf('__proto__')).toBe(0);
    } finally {
      for (const stop of stops) stop();
      await client.dispose();
    }
  });

  it('share one compile between groups that differ only in their variables, each filtered by its own', async () => {
    const other = (await app.db.prisma.device.create({ data: { name: 'jit-2', hostname: 'jit-2.example' } })).id;
    const query = 'subscription PerDevice($id: ID) { metricCollected(deviceId: $id) { deviceId cpuPercent } }';
    const client = wsClient();
    const got = new Map<string, unknown[]>([[deviceId, []], [other, []]]);
    const stops = [deviceId, other].map((id) => client.subscribe<unknown>({ query, variables: { id } }, { next: (r) => void got.get(id)!.push(r), error: () => undefined, complete: () => undefined }));
    try {
      await until(() => activeSubscriptions().metricCollected === 2, 'two groups, one per device');
      const time = new Date(Date.UTC(2026, 11, 5, 15, 0, 0));
      app.services.events.publish('metricCollected', { deviceId, sample: toWire(systemRow(deviceId, time, { cpuPercent: 10 })) });
      app.services.events.publish('metricCollected', { deviceId: other, sample: toWire(systemRow(other, time, { cpuPercent: 20 })) });
      await until(() => got.get(deviceId)!.length === 1 && got.get(other)!.length === 1, 'one event on each');
      expect(got.get(deviceId)).toEqual([{ data: { metricCollected: { deviceId, cpuPercent: 10 } } }]);
      expect(got.get(other)).toEqual([{ data: { metricCollected: { deviceId: other, cpuPercent: 20 } } }]);
      expect(compilesOf('PerDevice')).toBe(1);
    } finally {
      for (const stop of stops) stop();
      await client.dispose();
    }
  });
});
