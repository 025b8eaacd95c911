/**
 * The source streams of subscriptions: events of one bus topic, filtered by device (ids and
 * tags) and whatever else the field accepts, *before* anything is executed. The server runs
 * one such stream per group of identical subscriptions (src/server/groups.ts), so a filter
 * costs once per group and event, not once per subscriber.
 *
 * A stream is a plain listener feeding a bounded queue, not a pub/sub Repeater: the Repeater
 * throws RepeaterOverflowError inside the publisher past 1,024 undrained events, which took the
 * whole process down when a subscriber stopped reading. Here a consumer that falls
 * MAX_BACKLOG events behind ends its stream with an error instead. `return()` removes the
 * listener at once, with or without a pending `next()`.
 */
import { GraphQLError } from 'graphql';
import { inScope } from '../../alerts/rules.ts';
import type { Payload, Topic } from '../../events/index.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { deviceTags } from '../device-tags.ts';

/** Events a stream may hold for a consumer that is executing slower than they arrive. */
export const MAX_BACKLOG = 10_000;

const active = {} as Record<Topic, number>;

/** Open source streams per topic (one per group of identical subscriptions), for health and tests. */
export function activeSubscriptions(): Readonly<Record<Topic, number>> {
  return new Proxy({ ...active }, { get: (t, k: string) => t[k as Topic] ?? 0 });
}

/** Which devices a subscription wants: none given, every device; else any listed id or tag (the alert rules' scope). */
export interface DeviceScope {
  deviceId?: string | number | null;
  deviceIds?: readonly (string | number)[] | null;
  tags?: readonly string[] | null;
}

/** The scope as the alert rules' `inScope` takes it, or null for "every device". */
function scopeOf(scope: DeviceScope): { deviceIds: string[]; tags: string[] } | null {
  const deviceIds = [...(scope.deviceId === null || scope.deviceId === undefined ? [] : [String(scope.deviceId)]), ...(scope.deviceIds ?? []).map(String)];
  const tags = [...(scope.tags ?? [])];
  return deviceIds.length === 0 && tags.length === 0 ? null : { deviceIds, tags };
}

/**
 * Live events of `topic` for the devices in `scope` that `accept` (default: all), as an async
 * iterator the subscription's `subscribe` resolver returns. With tags, the device-tag cache is
 * loaded first, so matching stays synchronous in the listener.
 */
export async function liveEvents<T extends Topic>(ctx: Context, topic: T, scope: DeviceScope, accept: (e: Payload<T>) => boolean = () => true): Promise<AsyncIterableIterator<Payload<T>>> {
  const wanted = scopeOf(scope);
  const tags = wanted && wanted.tags.length > 0 ? deviceTags(ctx.db, ctx.events, ctx.log) : null;
  await tags?.ready();
  const matches = (e: Payload<T>): boolean => {
    if (wanted) {
      const id = (e as { deviceId?: string }).deviceId ?? '';
      if (!inScope(wanted, { id, tags: tags ? tags.of(id) : [] })) return false;
    }
    return accept(e);
  };
  const stream = new EventStream<Payload<T>>(topic, () => {
    active[topic] = (active[topic] ?? 1) - 1;
    unlisten();
  });
  active[topic] = (active[topic] ?? 0) + 1;
  const unlisten = ctx.events.listen(topic, (e) => {
    if (matches(e)) stream.push(e);
  });
  return stream;
}

/** A bounded single-consumer queue as an async iterator. */
export class EventStream<T> implements AsyncIterableIterator<T> {
  private queue: (T | undefined)[] = [];
  private head = 0;
  private waiting: ((r: IteratorResult<T>) => void) | undefined;
  private failWaiting: ((e: Error) => void) | undefined;
  private done = false;
  private error: Error | undefined;

  constructor(
    private readonly topic: string,
    private readonly release: () => void,
  ) {}

  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      return resolve({ value, done: false });
    }
    if (this.queue.length - this.head >= MAX_BACKLOG) {
      this.fail(new GraphQLError(`this subscription fell ${MAX_BACKLOG} ${this.topic} events behind and was ended; subscribe again (with \`after\` where offered, to resume)`, { extensions: { code: 'SUBSCRIPTION_BEHIND' } }));
      return;
    }
    this.queue.push(value);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head] as T;
      // Released at once (events can be large); the array is reset when drained, or compacted
      // now and then, rather than shift()ed per event (O(n) each).
      this.queue[this.head++] = undefined;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.error) {
      const e = this.error;
      this.error = undefined;
      return Promise.reject(e);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<T>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private fail(e: Error): void {
    this.queue = [];
    this.head = 0;
    if (this.failWaiting) this.failWaiting(e);
    else this.error = e;
    this.waiting = this.failWaiting = undefined;
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.release();
    const resolve = this.waiting;
    this.waiting = this.failWaiting = undefined;
    resolve?.({ value: undefined, done: true });
  }
}

/** The devices a scope names (listed, or carrying a listed tag); null for "every device". */
export async function devicesInScope(ctx: Context, scope: DeviceScope): Promise<string[] | null> {
  const wanted = scopeOf(scope);
  if (!wanted) return null;
  if (wanted.tags.length === 0) return wanted.deviceIds;
  const tags = deviceTags(ctx.db, ctx.events, ctx.log);
  await tags.ready();
  return [...new Set([...wanted.deviceIds, ...tags.carrying(wanted.tags)])];
}

/* ---------------------------------------------------------------- resumable subscriptions */

/** What a resumable field replays: stored events shaped like its live ones, each with its cursor's sequence number. */
export interface ReplaySource {
  /** Events after `afterSeq` (oldest first) from up to about `limit` stored rows; `more` when others may follow. */
  replay(ctx: Context, args: Record<string, unknown>, afterSeq: number, limit: number): Promise<{ events: { seq?: number }[]; more: boolean }>;
}

const replaySources = new Map<string, ReplaySource>();

/** Declares a subscription field resumable with `after:` (the operation core replays through `source`). */
export function resumable(field: string, source: ReplaySource): void {
  replaySources.set(field, source);
}

export function replaySourceOf(field: string): ReplaySource | undefined {
  return replaySources.get(field);
}

/**
 * The server's operation core takes `after` off the operation before the live stream starts
 * (it replays, then joins the live group). A stream that still sees one was reached some other
 * way (the field inside a fragment): refused rather than silently not replayed.
 */
export function refuseAfter(args: { after?: string | null }): void {
  if (args.after !== null && args.after !== undefined) {
    throw new GraphQLError('`after` is honoured only on the subscription field itself, written directly in the operation (not inside a fragment)', { extensions: { code: 'BAD_CURSOR' } });
  }
}

/** The filter arguments every subscription takes (DESIGN §1), with one description. */
export function scopeArgs(t: ScopeArgBuilder) {
  return {
    deviceId: t.arg.id({ required: false, description: 'Only this device.' }),
    deviceIds: t.arg.idList({ required: false, description: 'Only these devices (with tags: listed devices plus tagged ones).' }),
    tags: t.arg.stringList({ required: false, description: 'Only devices carrying any of these tags.' }),
  };
}

/** The resume argument of sample subscriptions. */
export function afterArg(t: ScopeArgBuilder) {
  return t.arg.string({ required: false, description: 'A `cursor` from an earlier event: first the stored samples after it, in order, then live ones, with no gap and no duplicate.' });
}

type ScopeArgBuilder = Parameters<Parameters<typeof builder.subscriptionField>[1]>[0];
