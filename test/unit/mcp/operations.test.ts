/**
 * The GraphQL documents MCP tools run stay valid against the schema (a renamed field fails
 * here, not in an assistant's hands), and the small pure helpers do what their callers assume.
 */
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse, validate } from 'graphql';
import { expect, test } from 'vitest';
import { schema } from '../../../src/graphql/schema.ts';
import { describe as describeError, endpointUrl } from '../../../src/mcp/bridge.ts';
import { parseWhen, section } from '../../../src/mcp/format.ts';
import { OPERATIONS } from '../../../src/mcp/graphql.ts';
import '../../../src/mcp/mcp-server.ts';

test('every document a tool or resource runs validates against the schema', () => {
  expect(OPERATIONS.length).toBeGreaterThanOrEqual(9);
  for (const document of OPERATIONS) {
    const errors = validate(schema, parse(document));
    expect(errors.map((e) => e.message), document.slice(0, 60)).toEqual([]);
  }
});

test('time arguments: ISO-8601 or a duration back from now; anything else is null', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  expect(parseWhen('24h', now)?.toISOString()).toBe('2026-11-30T12:00:00.000Z');
  expect(parseWhen('90m', now)?.toISOString()).toBe('2026-12-01T10:30:00.000Z');
  expect(parseWhen('2w', now)?.toISOString()).toBe('2026-11-17T12:00:00.000Z');
  expect(parseWhen('2026-11-27T10:00:00Z', now)?.toISOString()).toBe('2026-11-27T10:00:00.000Z');
  for (const bad of ['yesterday', '24', 'h', '2026-13-45T99:00:00Z', '']) expect(parseWhen(bad, now), bad).toBeNull();
});

test('text lists say none, and how many were left out', () => {
  expect(section('drives', [], 3, String)).toEqual(['drives: none']);
  expect(section('n', [1, 2, 3], 2, String)).toEqual(['n:', '  - 1', '  - 2', '  - … 1 more (all are in the structured content)']);
});

test('bridge: --url is the server or its endpoint, http(s) only; failures read as the server put them', () => {
  expect(String(endpointUrl('http://127.0.0.1:9101'))).toBe('http://127.0.0.1:9101/mcp');
  expect(String(endpointUrl('https://mon.example/mcp'))).toBe('https://mon.example/mcp');
  expect(endpointUrl('ftp://x')).toMatch(/http:\/\/ or https:\/\//);
  expect(endpointUrl('not a url')).toMatch(/is not a URL/);
  const refused = new StreamableHTTPError(401, 'Error POSTing to endpoint: {"jsonrpc":"2.0","error":{"code":-32000,"message":"a valid API token is required"},"id":null}');
  expect(describeError(refused)).toBe('HTTP 401: a valid API token is required');
  expect(describeError(new Error('fetch failed'))).toBe('fetch failed');
});
