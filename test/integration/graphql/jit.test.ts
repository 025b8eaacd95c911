/**
 * Queries run compiled (src/server/jit.ts); a document with a field or alias named
 * `__proto__`, which graphql-jit's object literals would turn into a prototype (the field
 * missing from the response), runs on graphql-js and answers as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
  await app.db.prisma.device.create({ data: { name: 'jit-1', hostname: 'jit-1.example' } });
});
afterAll(async () => {
  await app?.close();
});

const own = (o: unknown, key: string): unknown => Object.getOwnPropertyDescriptor(o, key)?.value;

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
