/**
 * Tools read and act only through GraphQL operations run as the caller (one source of truth:
 * the same resolvers, roles, limits and masking as /graphql). Failures become ToolError, whose
 * message is what the assistant sees.
 */
import { GraphQLEnumType, GraphQLObjectType } from 'graphql';
import type { Principal } from '../graphql/context.ts';
import { schema } from '../graphql/schema.ts';
import type { Logger } from '../log.ts';
import type { GraphqlError, McpSeam } from './seam.ts';

/** An expected failure: its message goes to the assistant as an MCP tool error. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}

export interface ToolContext {
  principal: Principal;
  execute: McpSeam['execute'];
  log: Logger;
}

function describe(errors: readonly GraphqlError[]): string {
  const lines = errors.map((e) => {
    const field = e.path?.length ? `${e.path.join('.')}: ` : '';
    return `${field}${e.message}`;
  });
  return [...new Set(lines)].join('; ');
}

/** Every document the tools run, so a test can validate them all against the schema. */
export const OPERATIONS: string[] = [];

/** Declares a document the tools run (kept next to the type of what it selects). */
export function operation(document: string): string {
  OPERATIONS.push(document);
  return document;
}

/**
 * Runs an operation as the caller. `T` is the shape the operation's selection yields: the
 * documents live next to their types in the tool modules; test/unit/mcp checks them against
 * the schema.
 */
export async function run<T>(ctx: ToolContext, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await ctx.execute({ query, variables }, ctx.principal);
  if (result.errors?.length) throw new ToolError(describe(result.errors));
  if (!result.data) throw new ToolError('the API returned no data');
  return result.data as T;
}

/**
 * A typed error of a result union, selected with TYPED_ERROR_FIELDS (aliased: a success type
 * may have a nullable `message` of its own, e.g. Alert, and the two would conflict).
 */
export interface TypedError {
  __typename: `${string}Error`;
  errorMessage: string;
}

export const TYPED_ERROR_FIELDS = '... on Error { errorMessage: message }';

/** The success member of a result union, or the union's typed error as a ToolError. */
export function unwrap<T extends { __typename: string }>(value: T | TypedError): T {
  if (!value.__typename.endsWith('Error')) return value as T;
  throw new ToolError((value as TypedError).errorMessage);
}

/** A GraphQL enum's values, so tool schemas never restate the API's vocabulary. */
export function enumValues(name: string): [string, ...string[]] {
  const type = schema.getType(name);
  if (!(type instanceof GraphQLEnumType)) throw new Error(`${name} is not an enum of the schema`);
  return type.getValues().map((v) => v.name) as [string, ...string[]];
}

/** Fields of a GraphQL object type whose type is the named one (e.g. MetricBucket's MetricStat fields). */
export function fieldsOfType(object: string, fieldType: string): [string, ...string[]] {
  const type = schema.getType(object);
  if (!(type instanceof GraphQLObjectType)) throw new Error(`${object} is not an object type of the schema`);
  return Object.values(type.getFields())
    .filter((f) => String(f.type).replace(/!$/, '') === fieldType)
    .map((f) => f.name) as [string, ...string[]];
}
