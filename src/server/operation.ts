/**
 * The operation core: every GraphQL operation that arrives over graphql-ws, graphql-sse or
 * Yoga's SSE is parsed, validated (graphql-armor's limits included), authorised and executed
 * here, through `yoga.getEnveloped`, so the same plugins apply as on plain HTTP. Transports
 * only read requests and frame bytes. Queries and mutations run once; subscriptions join a
 * shared group (groups.ts), whose stream starts outside envelop: the checks plugins make at
 * subscribe time (the cost limit, no suggestions) are made in `subscribe` below. `run` is the
 * same path for in-process callers (e.g. MCP tools).
 */
import type http from 'node:http';
import { getOperationAST, GraphQLError, print, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Context, Principal, Services } from '../graphql/context.ts';
import { operationObserved } from '../metrics.ts';
import { costRefusal } from '../security/cost.ts';
import { stripResult } from '../security/graphql-limits.ts';
import { outageError } from './database-unavailable.ts';
import { createGroups, scopeOf, type Member, type Subscription } from './groups.ts';
import { planResume, subscribeResumed } from './resume.ts';
import { masked, type Yoga } from './yoga.ts';

/** A GraphQL request as every transport carries it. */
export interface OperationParams {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
  extensions?: Record<string, unknown> | null;
}

/** What the transport knows about the connection (for Yoga's context). */
export interface TransportInfo {
  req?: http.IncomingMessage;
  socket?: unknown;
}

export type Enveloped = ReturnType<Yoga['getEnveloped']>;

export interface PreparedOperation {
  kind: 'query' | 'mutation' | 'subscription';
  params: OperationParams;
  principal: Principal;
  document: DocumentNode;
  envelop: Enveloped;
  /** performance.now() when preparation began (the duration metric). */
  startedAt: number;
}

/** Why an operation was refused before running: its text, its validation, or its operation name. */
export type Refused = { ok: false; phase: 'parse' | 'validate' | 'operation'; errors: readonly GraphQLError[] };
export type Preparation = { ok: true; op: PreparedOperation } | Refused;

export interface OperationCore {
  prepare(params: OperationParams, principal: Principal, transport?: TransportInfo): Promise<Preparation>;
  /** Runs a query or mutation. */
  execute(op: PreparedOperation): Promise<ExecutionResult>;
  /** Joins the subscription's group; an ExecutionResult (errors) when its stream could not start. */
  subscribe(op: PreparedOperation, member: Member): Promise<Subscription | ExecutionResult>;
  /** prepare + execute for in-process callers; a subscription is refused. */
  run(params: OperationParams, principal: Principal): Promise<ExecutionResult>;
  stats(): { groups: number; members: number };
  stop(): void;
}

export function createOperationCore(services: Services, yoga: Yoga): OperationCore {
  const groups = createGroups(services.log);
  // Errors of a subscription's events and replays, which no plugin sees (groups.ts): the outage
  // becomes the typed DATABASE_UNAVAILABLE, as a query's would, anything else unexpected is masked.
  const mask = (err: unknown): GraphQLError => outageError(err) ?? masked(services.log, err);

  async function prepare(params: OperationParams, principal: Principal, transport: TransportInfo = {}): Promise<Preparation> {
    const startedAt = performance.now();
    const envelop = yoga.getEnveloped({ ...transport, params, principal });
    let document: DocumentNode;
    try {
      document = envelop.parse(params.query);
    } catch (e) {
      return { ok: false, phase: 'parse', errors: [e instanceof GraphQLError ? e : new GraphQLError((e as Error).message)] };
    }
    let errors: readonly GraphQLError[];
    try {
      errors = envelop.validate(envelop.schema, document);
    } catch (e) {
      // graphql-armor's rules throw their GraphQLError out of validate() rather than report it.
      if (!(e instanceof GraphQLError)) throw e;
      errors = [e];
    }
    if (errors.length) return { ok: false, phase: 'validate', errors };
    const ast = getOperationAST(document, params.operationName ?? undefined);
    if (!ast) return { ok: false, phase: 'operation', errors: [new GraphQLError('Unable to identify operation')] };
    return { ok: true, op: { kind: ast.operation, params, principal, document, envelop, startedAt } };
  }

  async function contextOf(op: PreparedOperation): Promise<Context> {
    return { ...((await op.envelop.contextFactory()) as Context), auth: op.principal };
  }

  const argsOf = async (op: PreparedOperation) => ({
    schema: op.envelop.schema,
    document: op.document,
    variableValues: op.params.variables ?? undefined,
    operationName: op.params.operationName ?? undefined,
    contextValue: await contextOf(op),
  });

  async function execute(op: PreparedOperation): Promise<ExecutionResult> {
    try {
      return (await op.envelop.execute(await argsOf(op))) as ExecutionResult;
    } catch (err) {
      return { errors: [mask(err)] };
    }
  }

  /** Equal operations by equal roles share a group: the printed document (whatever its spacing) and canonical variables. */
  const keyOf = (op: PreparedOperation, document: DocumentNode, variables: Record<string, unknown>): string =>
    `${scopeOf(op.principal)}\u0000${op.params.operationName ?? ''}\u0000${stableJson(variables)}\u0000${printed(document)}`;

  async function subscribe(op: PreparedOperation, member: Member): Promise<Subscription | ExecutionResult> {
    // A group starts its stream with graphql-js, not envelop's subscribe, so no plugin's
    // onSubscribe hook sees it: priced here, before the group is joined or started, and its
    // variables' errors lose "Did you mean" here when introspection is off.
    const refused = costRefusal(op.envelop.schema, op.document, op.params.operationName, op.params.variables, services.config.limits.maxCost);
    if (refused) return { errors: [refused] };
    const plan = planResume(op);
    if (plan instanceof GraphQLError) return { errors: [plan] };
    const args = await argsOf(op);
    const joined = plan
      ? await subscribeResumed(
          {
            joinLive: (p, m) => groups.join({ key: keyOf(op, p.liveDocument, p.liveVariables), args: { ...args, document: p.liveDocument, variableValues: p.liveVariables }, mask }, m),
            contextOf,
            mask,
            maxBufferBytes: services.config.subscriptions.maxBufferBytes,
          },
          op,
          plan,
          member,
        )
      : await groups.join({ key: keyOf(op, op.document, op.params.variables ?? {}), args, mask }, member);
    operationObserved(op.document, op.params.operationName, (performance.now() - op.startedAt) / 1000);
    return 'unsubscribe' in joined || services.config.introspection ? joined : stripResult(joined);
  }

  return {
    prepare,
    execute,
    subscribe,
    async run(params, principal) {
      const prepared = await prepare(params, principal);
      if (!prepared.ok) return { errors: prepared.errors };
      if (prepared.op.kind === 'subscription') return { errors: [new GraphQLError('subscriptions need a streaming transport (graphql-ws or SSE)')] };
      return execute(prepared.op);
    },
    stats: () => groups.stats(),
    stop: () => groups.stop(),
  };
}

const printedDocuments = new WeakMap<DocumentNode, string>();

/** The document's canonical text (Yoga's parser cache hands out the same document for the same query, so this prints once). */
function printed(document: DocumentNode): string {
  let text = printedDocuments.get(document);
  if (text === undefined) {
    text = print(document);
    printedDocuments.set(document, text);
  }
  return text;
}

/** JSON with object keys sorted, so equal variables make equal group keys whatever their order. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}
