/**
 * Shared execution. Subscribers whose operation is the same — query text, operation name,
 * variables, and the part of the caller the resolvers read (the role) — form one group. The
 * group has one source stream (the field's `subscribe` resolver, so filters run once per
 * group and event), executes each event once, serialises the result once, and hands every
 * member the same bytes; transports only add their framing (graphql-ws: a prefix with the
 * member's id). Per event the cost is one execution per group plus a send per member.
 *
 * Authorisation stays as strict as per subscriber: everything a resolver may decide by
 * (the role, see `scopeOf`) is part of the key, so a VIEWER group and an ADMIN group never
 * share a result. Each event runs with a fresh copy of the group's context, so per-request
 * caches (dataloaders) never serve one event's rows to the next.
 *
 * The group disappears, and its bus listener with it, when its last member leaves.
 */
import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Context, Principal } from '../graphql/context.ts';
import type { Logger } from '../log.ts';
import { compilable } from './jit.ts';
import { formatErrors, serializeResult } from './yoga.ts';

/** One event's result, serialised once for the whole group. */
export class SharedResult {
  private buf: Buffer | undefined;
  constructor(
    readonly json: string,
    /** The source event's ingest sequence, when it has one (resumable sample streams). */
    readonly seq: number | undefined,
  ) {}

  /** The UTF-8 bytes, encoded once and shared by every member. */
  get buffer(): Buffer {
    this.buf ??= Buffer.from(this.json);
    return this.buf;
  }

  private frames: Map<(bytes: Buffer) => Buffer, Buffer> | undefined;

  /**
   * The bytes inside framing that is the same for every member (graphql-ws's closing brace,
   * graphql-sse's distinct `event: next`), built once and shared: no copy of the payload per
   * member. `frame` is one constant function per framing.
   */
  framed(frame: (bytes: Buffer) => Buffer): Buffer {
    this.frames ??= new Map();
    let bytes = this.frames.get(frame);
    if (bytes === undefined) this.frames.set(frame, (bytes = frame(this.buffer)));
    return bytes;
  }
}

/** A subscriber as the group sees it; the transport frames and sends. Calls never throw into the group. */
export interface Member {
  next(result: SharedResult): void;
  /** The stream failed; nothing follows. */
  error(errors: readonly GraphQLFormattedError[]): void;
  /** The stream ended; nothing follows. */
  complete(): void;
  /** Resolves when the connection can take more without waiting (used by replays, never by live delivery). */
  writable(): Promise<void>;
}

export interface Subscription {
  unsubscribe(): void;
}

/** What a group is started from: the first member's prepared operation. */
export interface GroupSpec {
  key: string;
  args: ExecutionArgs & { contextValue: Context };
  /** Masks an unexpected error (Yoga's masking, logged). */
  mask: (error: unknown) => GraphQLError;
}

interface Group {
  spec: GroupSpec;
  members: Set<Member>;
  /** Null once running; a result when the stream could not start (errors, for the members waiting). */
  ready: Promise<ExecutionResult | null>;
  source: AsyncIterator<unknown> | undefined;
  stopped: boolean;
}

/** Runs a subscription's selection on one event, as its source stream maps each event. */
export type EventExecutor = (event: unknown, contextValue: Context) => Promise<ExecutionResult> | ExecutionResult;

/**
 * For a group's live events and a replay's stored ones (resume.ts) alike: the subscription's
 * document compiled with graphql-jit, as queries are (jit.ts; about 0.3 ms, once per document:
 * compiledDocument): its `query` runs a subscription document's selection on one event, as
 * graphql-jit's own subscribe maps each event. Where it cannot compile the document,
 * graphql-js's execute(), which also runs the selection on one event as subscribe() does
 * (Yoga's execute would start a subscription instead).
 * The arguments are built up from an empty object, not as `{ ...args, rootValue }`: on Node 20 a
 * property added after a spread gives the object a hidden class of its own, built in the old
 * generation, per event and group (docs/benchmarks.md, "A hidden class per object").
 */
export function eventExecutor(args: GroupSpec['args']): EventExecutor {
  const compiled = compiledDocument(args);
  if (compiled !== null) return (event, contextValue) => compiled.query(event, contextValue, args.variableValues);
  return (event, contextValue) => execute(Object.assign({}, args, { contextValue, rootValue: event }));
}

/**
 * Compiled documents by document, operation name and schema; null where graphql-jit may not run
 * it. graphql-jit takes the variables per call, so groups that differ only in their variables
 * (a dashboard per device) share one compile, and Yoga's parser cache hands out one document per
 * query text; a document it drops takes its compiles with it. Without this, each such group paid
 * its own: 0.31 ms median, 6.6 ms the first (docs/benchmarks.md), a reconnect storm's worth.
 */
const compiledDocuments = new WeakMap<DocumentNode, Map<string, { schema: GraphQLSchema; query: CompiledQuery | null }>>();

function compiledDocument(args: GroupSpec['args']): CompiledQuery | null {
  let byName = compiledDocuments.get(args.document);
  if (byName === undefined) compiledDocuments.set(args.document, (byName = new Map()));
  const name = args.operationName ?? '';
  let hit = byName.get(name);
  if (hit?.schema !== args.schema) {
    const compiled = compilable(args.document) ? compileQuery(args.schema, args.document, args.operationName ?? undefined) : undefined;
    hit = { schema: args.schema, query: compiled !== undefined && isCompiledQuery(compiled) ? compiled : null };
    byName.set(name, hit);
  }
  return hit.query;
}

/** The role is all the resolvers read of the caller today; a per-token scope would go here too. */
export const scopeOf = (principal: Principal): string => principal.role;

export interface Groups {
  /** Joins (or starts) the group for `spec.key`; an ExecutionResult when the stream could not start. */
  join(spec: GroupSpec, member: Member): Promise<Subscription | ExecutionResult>;
  stats(): { groups: number; members: number };
  /** Ends every group (server stop). */
  stop(): void;
}

export function createGroups(log: Logger): Groups {
  const groups = new Map<string, Group>();
  let members = 0;

  const leave = (group: Group, member: Member): void => {
    if (!group.members.delete(member)) return;
    members--;
    if (group.members.size > 0) return;
    if (groups.get(group.spec.key) === group) groups.delete(group.spec.key);
    group.stopped = true;
    void group.source?.return?.();
  };

  const deliver = (group: Group, fn: (m: Member) => void): void => {
    for (const m of group.members) {
      try {
        fn(m);
      } catch (err) {
        // A transport's bug must not stop the others' delivery, nor reach the process.
        log.error({ err }, 'subscription delivery failed; member dropped');
        leave(group, m);
      }
    }
  };

  async function pump(group: Group): Promise<void> {
    const { args, mask } = group.spec;
    const source = group.source!;
    const run = eventExecutor(args);
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await source.next();
      } catch (err) {
        const errors = formatErrors([mask(err)]);
        const ending = [...group.members];
        for (const m of ending) leave(group, m);
        for (const m of ending) safely(() => m.error(errors));
        return;
      }
      if (next.done) break;
      const event = next.value;
      let result: ExecutionResult;
      try {
        // A fresh context object per event: dataloaders cache per context.
        result = await run(event, { ...args.contextValue });
        if (result.errors) result = { ...result, errors: result.errors.map(mask) };
      } catch (err) {
        result = { errors: [mask(err)] };
      }
      const shared = new SharedResult(serializeResult(result), (event as { seq?: number } | null)?.seq);
      deliver(group, (m) => m.next(shared));
    }
    const ending = [...group.members];
    for (const m of ending) leave(group, m);
    for (const m of ending) safely(() => m.complete());
  }

  const safely = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log.error({ err }, 'subscription delivery failed');
    }
  };

  function start(spec: GroupSpec): Group {
    const group: Group = { spec, members: new Set(), ready: Promise.resolve(null), source: undefined, stopped: false };
    group.ready = (async () => {
      let stream: AsyncIterable<unknown> | ExecutionResult;
      try {
        stream = await createSourceEventStream(spec.args);
      } catch (err) {
        stream = { errors: [spec.mask(err)] };
      }
      if (!(Symbol.asyncIterator in stream)) {
        if (groups.get(spec.key) === group) groups.delete(spec.key);
        return { ...stream, errors: stream.errors?.map((e) => spec.mask(e)) };
      }
      group.source = stream[Symbol.asyncIterator]();
      if (group.stopped) {
        void group.source.return?.();
        return null;
      }
      void pump(group).catch((err: unknown) => log.error({ err }, 'subscription group failed'));
      return null;
    })();
    return group;
  }

  return {
    async join(spec, member) {
      let group = groups.get(spec.key);
      if (!group) {
        group = start(spec);
        groups.set(spec.key, group);
      }
      group.members.add(member);
      members++;
      const failed = await group.ready;
      if (failed) {
        leave(group, member);
        return failed;
      }
      const joined = group;
      return { unsubscribe: () => leave(joined, member) };
    },
    stats: () => ({ groups: groups.size, members }),
    stop() {
      for (const g of [...groups.values()]) for (const m of [...g.members]) leave(g, m);
    },
  };
}
