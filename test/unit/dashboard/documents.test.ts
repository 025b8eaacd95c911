/**
 * Every operation the dashboard sends is valid against the schema this server serves, and
 * stays within the default operation limits (SECURITY.md): a renamed field or an operation
 * grown past a limit fails here, not in someone's browser.
 */
import { Lexer, Source, TokenKind, getOperationAST, isEnumType, parse, validate } from 'graphql';
import { describe, expect, test } from 'vitest';
import { schema } from '../../../src/graphql/schema.ts';
import { loadConfig } from '../../../src/config.ts';
import { operationCost } from '../../../src/security/cost.ts';
import { ALERT_METRICS, ALL_DOCUMENTS, COMPARATORS, DEVICE_STATUSES, FLEET_PAGES } from '../../../web/src/api/documents.ts';

const limits = loadConfig({}).limits;

function tokenCount(text: string): number {
  const lexer = new Lexer(new Source(text));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
}

describe('dashboard documents', () => {
  test.each(Object.entries(ALL_DOCUMENTS))('%s is valid and within the limits', (_name, text) => {
    const document = parse(text);
    expect(validate(schema, document).map((e) => e.message)).toEqual([]);
    // The server's own cost, at the default limit, with the largest page the dashboard asks for.
    expect(operationCost(schema, document, getOperationAST(document)!, { first: FLEET_PAGES.then })).toBeLessThanOrEqual(limits.maxCost);
    expect(tokenCount(text)).toBeLessThanOrEqual(limits.maxTokens);
  });
});

test.each([
  ['DeviceStatus', DEVICE_STATUSES],
  ['Comparator', COMPARATORS],
  ['AlertMetric', ALERT_METRICS],
] as const)('the dashboard offers every %s value of the schema, and only those', (name, values) => {
  const type = schema.getType(name);
  expect(isEnumType(type) && type.getValues().map((v) => v.name).sort()).toEqual([...values].sort());
});

