import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import type { Poller } from '../poller/index.ts';

import type { Principal } from '../tokens.ts';

export type { Principal, Role } from '../tokens.ts';

/**
 * What the server hands every resolver. `services` is built once per server; `auth` per
 * request or WebSocket connection. Services the API calls on the poller are optional so the
 * schema can be built (schema:print) and served without polling.
 */
export interface Services {
  config: Config;
  db: Database;
  events: EventBus;
  log: Logger;
  secrets: SecretBox;
  startedAt: Date;
  version: string;
  poller?: PollerApi;
  /** Live counts for Query.health and /metrics: subscribers per transport. */
  subscribers: { ws: number; sse: number };
}

/** The slice of the poller the API uses, with the poller's own types. */
export type PollerApi = Pick<Poller, 'pollNow' | 'collectorStates' | 'deviceChanged' | 'trustHostKey' | 'stats' | 'waiting'> & Partial<Pick<Poller, 'execOn'>>;

export interface Context extends Services {
  auth: Principal | null;
  /** Resolvers' per-request state (perRequest), made on first use. */
  requestState?: Map<RequestKey<unknown>, unknown>;
}

/** A typed slot of per-request state (perRequest). */
export class RequestKey<T> {
  declare private readonly value: T;
  constructor(readonly name: string) {}
}

/**
 * The request's value for `key`, made by `make` on first use. Kept on the context, not in a
 * WeakMap keyed by it: while a WeakMap's key is young, V8's scavenger keeps its value alive, and
 * a value that reaches its key (a batch loader's closure over the context) keeps both. Every
 * request's rows and results then survived every scavenge and were promoted, to die at the next
 * full collection (docs/benchmarks.md, "Prisma's wasm off the heap, and rows that outlived their
 * request"; a probe: 41 ms scavenges against 0.1 ms with the value on the object).
 */
export function perRequest<T>(ctx: Context, key: RequestKey<T>, make: () => T): T {
  const state = (ctx.requestState ??= new Map());
  if (!state.has(key)) state.set(key, make());
  return state.get(key) as T;
}
