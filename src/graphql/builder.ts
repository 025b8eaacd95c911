/**
 * The Pothos builder every type module extends. Plugins: scope-auth (roles), errors (typed
 * results, `directResult`), relay (connections, node), dataloader (batching), simple-objects.
 */
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import SimpleObjectsPlugin from '@pothos/plugin-simple-objects';
import { GraphQLError, Kind } from 'graphql';
import type { Context, Role } from './context.ts';
import { listOfIds } from '../security/cost.ts';

const RANK: Record<Role, number> = { VIEWER: 1, OPERATOR: 2, ADMIN: 3 };
const atLeast = (ctx: Context, role: Role) => (ctx.auth ? RANK[ctx.auth.role] >= RANK[role] : false);

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: { viewer: boolean; operator: boolean; admin: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    Long: { Input: number; Output: number | bigint };
    JSON: { Input: Record<string, number>; Output: Record<string, number> };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin, DataloaderPlugin, SimpleObjectsPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      viewer: atLeast(ctx, 'VIEWER'),
      operator: atLeast(ctx, 'OPERATOR'),
      admin: atLeast(ctx, 'ADMIN'),
    }),
    unauthorizedError: (_parent, ctx) =>
      new GraphQLError(ctx.auth ? `role ${ctx.auth.role} may not do this` : 'authentication required', {
        extensions: { code: ctx.auth ? 'FORBIDDEN' : 'UNAUTHENTICATED' },
      }),
  },
  errors: { directResult: true },
  relay: {
    clientMutationId: 'omit',
    nodesQueryOptions: { extensions: listOfIds },
    cursorType: 'String',
    // A device's id is its database id everywhere (events, deviceId arguments,
    // SystemMetrics.deviceId), so its global id is that same string and clients never juggle two
    // ids; any other node type is "Type:id". Device ids (UUIDs, `local`) never contain a colon.
    encodeGlobalID: (typename: string, id: string | number | bigint) => (typename === 'Device' ? String(id) : `${typename}:${String(id)}`),
    decodeGlobalID: (globalID: string) => {
      const m = /^([A-Z][A-Za-z0-9]*):(.+)$/s.exec(globalID);
      return m ? { typename: m[1]!, id: m[2]! } : { typename: 'Device', id: globalID };
    },
  },
});

const parseDate = (value: unknown): Date => {
  const d = typeof value === 'string' || typeof value === 'number' ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string such as 2026-11-27T10:00:00Z');
  return d;
};

builder.scalarType('DateTime', {
  description: 'An instant as an ISO-8601 string in UTC.',
  serialize: (v) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString()),
  parseValue: parseDate,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string');
    return parseDate(ast.value);
  },
});

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
builder.scalarType('Long', {
  description: 'A whole number up to 2^53 - 1 (byte counts exceed Int\'s 2^31), sent as a JSON number.',
  serialize: (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new GraphQLError(`Long out of range: ${String(v)}`);
    return n;
  },
  parseValue: (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > MAX_SAFE) throw new GraphQLError('Long must be a whole number within ±2^53');
    return v;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.INT) throw new GraphQLError('Long must be a whole number');
    const n = Number(ast.value);
    if (!Number.isSafeInteger(n)) throw new GraphQLError('Long must be a whole number within ±2^53');
    return n;
  },
});

builder.scalarType('JSON', {
  description: 'A JSON object of names to numbers (a check result\'s values), sent as it is.',
  serialize: (v) => v,
  parseValue: (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((n) => typeof n === 'number')) throw new GraphQLError('JSON must be an object of names to numbers');
    return v as Record<string, number>;
  },
  parseLiteral: () => {
    throw new GraphQLError('JSON is an output type here');
  },
});

/** Root types: reading needs VIEWER; each mutation names the role it needs. */
builder.queryType({ authScopes: { viewer: true } });
builder.mutationType({ authScopes: { operator: true } });
builder.subscriptionType({ authScopes: { viewer: true } });
