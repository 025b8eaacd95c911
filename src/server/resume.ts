/**
 * Resumed subscriptions (`after: cursor`, Hasura's streaming subscriptions are the model).
 * The subscriber first joins the live group of the same operation without `after`, holding
 * what it delivers; then the stored rows after the cursor are read and executed for this
 * subscriber alone, page by page, at the pace its connection takes them; then the held live
 * events newer than the last replayed one go out, and from there it is an ordinary member.
 *
 * No gap: joining comes first, and events are published after their rows commit, so a row
 * is either visible to the replay's reads or announced to the held live stream (or both).
 * No duplicate: held events at or below the last replayed sequence number are dropped.
 * Both hold because one instance's writer commits rows in sequence order; with several
 * instances writing at once, two commits may be announced out of order (docs/graphql.md).
 */
import { getArgumentValues, getOperationAST, GraphQLError, Kind, visit, type DocumentNode, type ExecutionResult, type FieldNode } from 'graphql';
import type { Context } from '../graphql/context.ts';
import { decodeCursor } from '../graphql/cursor.ts';
import { replaySourceOf, type ReplaySource } from '../graphql/types/live.ts';
import { BURST_FACTOR } from './delivery.ts';
import { eventExecutor, SharedResult, type Member, type Subscription } from './groups.ts';
import type { PreparedOperation } from './operation.ts';
import { formatErrors, serializeResult } from './yoga.ts';

/** Stored rows read per query. */
const PAGE_ROWS = 500;
/** A cursor further behind than this many events is refused while replaying (use the history queries). */
export const MAX_REPLAY_EVENTS = 100_000;

export interface ResumePlan {
  source: ReplaySource;
  afterSeq: number;
  /** The field's arguments (coerced), for the replay's filters. */
  args: Record<string, unknown>;
  /** The operation without `after`: what the live group runs. */
  liveDocument: DocumentNode;
  liveVariables: Record<string, unknown>;
}

/** The resume plan when the operation's one root field is resumable and has a non-null `after`; null otherwise. */
export function planResume(op: PreparedOperation): ResumePlan | GraphQLError | null {
  const ast = getOperationAST(op.document, op.params.operationName ?? undefined);
  const field = ast?.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD);
  const source = field ? replaySourceOf(field.name.value) : undefined;
  const after = field?.arguments?.find((a) => a.name.value === 'after');
  if (!field || !source || !after) return null;
  const fieldDef = op.envelop.schema.getSubscriptionType()?.getFields()[field.name.value];
  if (!fieldDef) return null;
  const variables = op.params.variables ?? {};
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(fieldDef, field, variables);
  } catch (e) {
    return e instanceof GraphQLError ? e : new GraphQLError((e as Error).message);
  }
  if (typeof args.after !== 'string') return null;
  let afterSeq: number;
  try {
    afterSeq = decodeCursor(args.after);
  } catch (e) {
    return e as GraphQLError;
  }
  const liveDocument = visit(op.document, { Argument: (node) => (node === after ? null : undefined) });
  const liveVariables = { ...variables };
  if (after.value.kind === Kind.VARIABLE) delete liveVariables[after.value.name.value];
  return { source, afterSeq, args, liveDocument, liveVariables };
}

/** A member that holds live events until its replay is done. */
class Held implements Member {
  private pending: SharedResult[] | null = [];
  private pendingBytes = 0;
  private ended: (() => void) | null = null;

  constructor(
    readonly inner: Member,
    private readonly maxBytes: number,
    private readonly overflow: () => void,
  ) {}

  next(result: SharedResult): void {
    if (!this.pending) return this.inner.next(result);
    this.pending.push(result);
    this.pendingBytes += result.json.length;
    // The live stream outpaces the replay: the same bound as a slow connection.
    if (this.pendingBytes > this.maxBytes * BURST_FACTOR) this.overflow();
  }

  error(errors: Parameters<Member['error']>[0]): void {
    if (this.pending) this.ended = () => this.inner.error(errors);
    else this.inner.error(errors);
  }

  complete(): void {
    if (this.pending) this.ended = () => this.inner.complete();
    else this.inner.complete();
  }

  writable(): Promise<void> {
    return this.inner.writable();
  }

  /** Sends the held events newer than `lastSeq`, then passes everything straight on. */
  goLive(lastSeq: number): void {
    const held = this.pending ?? [];
    this.pending = null;
    for (const r of held) if (r.seq === undefined || r.seq > lastSeq) this.inner.next(r);
    this.ended?.();
  }
}

export interface ResumeDeps {
  /** Joins the live group for the operation without `after`. */
  joinLive(plan: ResumePlan, member: Member): Promise<Subscription | ExecutionResult>;
  contextOf(op: PreparedOperation): Promise<Context>;
  mask(err: unknown): GraphQLError;
  maxBufferBytes: number;
}

export async function subscribeResumed(deps: ResumeDeps, op: PreparedOperation, plan: ResumePlan, member: Member): Promise<Subscription | ExecutionResult> {
  let cancelled = false;
  let live: Subscription | undefined;
  const stop = () => {
    cancelled = true;
    live?.unsubscribe();
  };
  const held = new Held(member, deps.maxBufferBytes, () => {
    stop();
    member.error(formatErrors([new GraphQLError('live events arrived faster than the replay could deliver them; resume again from the last cursor received', { extensions: { code: 'SUBSCRIPTION_BEHIND' } })]));
  });
  const joined = await deps.joinLive(plan, held);
  if (!('unsubscribe' in joined)) return joined;
  live = joined;
  const ctx = await deps.contextOf(op);
  void replay(deps, op, plan, ctx, held, () => cancelled).catch((err: unknown) => {
    if (cancelled) return;
    stop();
    member.error(formatErrors([deps.mask(err)]));
  });
  return { unsubscribe: stop };
}

async function replay(deps: ResumeDeps, op: PreparedOperation, plan: ResumePlan, ctx: Context, held: Held, cancelled: () => boolean): Promise<void> {
  let after = plan.afterSeq;
  let count = 0;
  const run = eventExecutor({ schema: op.envelop.schema, document: op.document, variableValues: op.params.variables ?? undefined, operationName: op.params.operationName ?? undefined, contextValue: ctx });
  for (;;) {
    const { events, more } = await plan.source.replay(ctx, plan.args, after, PAGE_ROWS);
    for (const event of events) {
      if (cancelled()) return;
      if (++count > MAX_REPLAY_EVENTS) throw new GraphQLError(`more than ${MAX_REPLAY_EVENTS} events were stored after this cursor: read them with the history queries, then subscribe without \`after\``, { extensions: { code: 'CURSOR_TOO_OLD' } });
      let result: ExecutionResult = await run(event, { ...ctx });
      if (result.errors) result = { ...result, errors: result.errors.map(deps.mask) };
      held.inner.next(new SharedResult(serializeResult(result), event.seq));
      if (event.seq !== undefined) after = event.seq;
      await held.writable();
    }
    if (!more || cancelled()) break;
  }
  if (!cancelled()) held.goLive(after);
}
