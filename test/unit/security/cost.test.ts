/**
 * The operation cost (src/security/cost.ts) on the served schema: list fields count the items
 * their arguments ask for, whether written in the document, passed as variables or left to the
 * default page; fragments cost what their fields cost in place, priced once.
 */
import { getOperationAST, getVariableValues, parse } from 'graphql';
import { describe, expect, test } from 'vitest';
import { schema } from '../../../src/graphql/schema.ts';
import { costRefusal, operationCost } from '../../../src/security/cost.ts';

const cost = (query: string, variables: Record<string, unknown> = {}): number => {
  const document = parse(query);
  const operation = getOperationAST(document)!;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (coerced.errors) throw coerced.errors[0];
  return operationCost(schema, document, operation, coerced.coerced);
};

// Per device: edges 1 + node 1 + id 1 + name 1.
const PER_DEVICE = 4;

describe('list sizes', () => {
  test('a literal page size, the same one in a variable and the default page cost alike', () => {
    const literal = cost('{ devices(first: 250) { edges { node { id name } } } }');
    expect(literal).toBe(1 + 250 * PER_DEVICE);
    expect(cost('query ($n: Int) { devices(first: $n) { edges { node { id name } } } }', { n: 250 })).toBe(literal);
    expect(cost('query ($n: Int = 250) { devices(first: $n) { edges { node { id name } } } }')).toBe(literal);
    expect(cost('query ($n: Int) { devices(last: $n) { edges { node { id name } } } }', { n: 250 })).toBe(literal);
    expect(cost('{ devices { edges { node { id name } } } }')).toBe(1 + 100 * PER_DEVICE); // the default page: 100
  });

  test('a page size above the cap costs the cap, as the resolver clamps it', () => {
    expect(cost('{ devices(first: 1000000) { edges { node { id name } } } }')).toBe(1 + 1000 * PER_DEVICE);
    expect(cost('{ alerts(first: 1000000) { edges { node { id } } } }')).toBe(1 + 500 * 3);
  });

  test("a connection's totalCount and pageInfo count once, its edges once per item", () => {
    expect(cost('{ devices(first: 10) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }')).toBe(1 + 1 + 3 + 10 * 3);
  });

  test('a limit, with its schema default when absent, multiplies the list under each item', () => {
    const perDevice = (limit: number) => 3 + limit * 2; // edges, node, statusChanges; then at, current per change
    expect(cost('{ devices(first: 10) { edges { node { statusChanges(limit: 50) { at current } } } } }')).toBe(1 + 10 * perDevice(50));
    expect(cost('{ devices(first: 10) { edges { node { statusChanges { at current } } } } }')).toBe(1 + 10 * perDevice(20));
    expect(cost('query ($l: Int) { devices(first: 10) { edges { node { statusChanges(limit: $l) { at current } } } } }', { l: 5000 })).toBe(1 + 10 * perDevice(100));
  });

  test('a list that declares no size counts once', () => {
    expect(cost('query ($id: ID) { device(id: $id) { containers { name state } } }', { id: 'x' })).toBe(1 + 1 + 2);
  });
});

describe('fragments', () => {
  test('named and inline fragments cost what their fields cost written in place, at any level', () => {
    const inPlace = cost('{ devices(first: 10) { totalCount edges { node { id name } } } }');
    expect(cost('{ devices(first: 10) { ...Page } } fragment Page on DeviceConnection { totalCount edges { node { ...D } } } fragment D on Device { id name }')).toBe(inPlace);
    expect(cost('{ devices(first: 10) { ... on DeviceConnection { totalCount edges { node { ... on Device { id name } } } } } }')).toBe(inPlace);
  });

  test('a billion laughs is priced, in linear time', () => {
    const fragments = ['fragment F0 on Query { __typename }'];
    for (let i = 1; i <= 9; i++) fragments.push(`fragment F${i} on Query { ${`...F${i - 1} `.repeat(10)}}`);
    const started = performance.now();
    expect(cost(`{ ...F9 } ${fragments.join(' ')}`)).toBe(10 ** 9);
    expect(performance.now() - started).toBeLessThan(100);
  });
});

describe('the refusal', () => {
  const query = 'query Big($n: Int) { devices(first: $n) { edges { node { id name } } } }';

  test('names the limit and the cost, and lets through what is within it', () => {
    const refused = costRefusal(schema, parse(query), 'Big', { n: 1000 }, 3000);
    expect(refused?.message).toMatch(/^query cost limit of 3000 exceeded: this operation may return 4001 values/);
    expect(refused?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', cost: 4001, maxCost: 3000 });
    expect(costRefusal(schema, parse(query), 'Big', { n: 500 }, 3000)).toBeUndefined();
  });

  test('invalid variables are left to execution, which reports them', () => {
    expect(costRefusal(schema, parse(query), 'Big', { n: 'many' }, 10)).toBeUndefined();
  });
});

test("Relay's nodes(ids:) counts one item per id", () => {
  const ids = Array.from({ length: 300 }, (_, i) => `d${i}`);
  expect(cost('query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Device { name } } }', { ids })).toBe(1 + 300 * 2);
});
