/**
 * The one pub/sub topic catalogue. Only poller/ (and alerts/) publish samples and states;
 * graphql/ publishes what its mutations change (token revocations, devices created or deleted,
 * alert configuration).
 * graphql/ subscribes, and so do the server (revocations) and mcp/ (the device list). In-process by default; with REDIS_URL every instance sees every event.
 * Payloads are plain JSON-safe objects (times as ISO strings) so the Redis target carries
 * them unchanged.
 */
import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { ContainerRow, DiskIoRow, DriveHealthRow, FilesystemRow, GpuSampleRow, NetworkRow, SensorReadingRow, StoragePoolRow, SystemMetricsRow } from '../storage/types.ts';

/** A row as it travels: Dates become ISO strings. */
export type Wire<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

export function toWire<T extends object>(row: T): Wire<T> {
  const out: Record<string, unknown> = {};
  // for…in, not Object.entries: no [key, value] array per field (every published row passes here; rows are plain objects).
  for (const k in row) {
    const v: unknown = row[k];
    out[k] = v instanceof Date ? v.toISOString() : v;
  }
  return out as Wire<T>;
}

export interface MetricEvent {
  deviceId: string;
  /** With `seq` too, so the sample's cursor resolves from the sample alone. */
  sample: Wire<SystemMetricsRow> & { seq?: number };
  /** The row's ingest sequence (storage assigns it at insert): what a resume cursor points at. */
  seq?: number;
}

/** All rows of one kind from one poll of one device (they share the poll's time), after commit. */
export interface SamplesEvent<Row> {
  deviceId: string;
  time: string;
  rows: Wire<Row>[];
  /** The highest ingest sequence among the rows. */
  seq?: number;
}

export interface DeviceStatusEvent {
  deviceId: string;
  previous: string;
  current: string;
  reason: string | null;
  at: string;
}

export interface ContainerStateEvent {
  deviceId: string;
  containerId: string;
  name: string;
  previousState: string | null;
  state: string;
  previousHealth: string | null;
  health: string | null;
  at: string;
}

export interface DriveHealthEvent {
  deviceId: string;
  drive: string;
  serial: string | null;
  previous: string | null;
  current: string;
  at: string;
}

/** A pool's or array's state or health changed since the previous storage poll (or it appeared). */
export interface PoolStateEvent {
  deviceId: string;
  kind: string;
  name: string;
  previousState: string | null;
  state: string;
  previousHealth: string | null;
  health: string;
  at: string;
}

/** A sensor's status changed (a fan stopped, a temperature reached its chip's max or crit, and back). */
export interface SensorStatusEvent {
  deviceId: string;
  sensor: string;
  chip: string | null;
  kind: string;
  label: string;
  value: number | null;
  previous: string | null;
  current: string;
  at: string;
}

export interface AlertEventPayload {
  alertId: string;
  ruleId: string;
  deviceId: string;
  state: string;
  at: string;
}

export interface TokenRevokedEvent {
  tokenId: string;
}

/** A device was created, updated or deleted (its tags may have changed). */
export interface DeviceChangedEvent {
  deviceId: string;
}

/** A device was created or deleted (through the API): the device list changed. */
export interface DeviceListEvent {
  deviceId: string;
  change: 'created' | 'deleted';
  at: string;
}

/** Alert rules, silences or notification channels changed: every evaluator reloads that cache. */
export interface AlertConfigEvent {
  kind: 'rules' | 'silences' | 'channels';
}

/** A check's result on a device changed status (or the check gave its first result there), after the row committed. */
export interface CheckResultEvent {
  deviceId: string;
  checkId: string;
  /** The status before; null for the first result of the check on the device. */
  previous: string | null;
  status: string;
  exitCode: number | null;
  message: string;
  values: Record<string, number>;
  time: string;
}

/** A check was created, changed or deleted: every poller reloads its checks; `soon`: run it now rather than at its next slot. */
export interface ChecksChangedEvent {
  checkId: string;
  soon: boolean;
}

export type Topics = {
  metricCollected: [MetricEvent];
  deviceStatusChanged: [DeviceStatusEvent];
  containerStateChanged: [ContainerStateEvent];
  driveHealthChanged: [DriveHealthEvent];
  alertChanged: [AlertEventPayload];
  tokenRevoked: [TokenRevokedEvent];
  deviceChanged: [DeviceChangedEvent];
  filesystemsCollected: [SamplesEvent<FilesystemRow>];
  networkInterfacesCollected: [SamplesEvent<NetworkRow>];
  diskIoCollected: [SamplesEvent<DiskIoRow>];
  containersCollected: [SamplesEvent<ContainerRow>];
  drivesCollected: [SamplesEvent<DriveHealthRow>];
  poolsCollected: [SamplesEvent<StoragePoolRow>];
  sensorsCollected: [SamplesEvent<SensorReadingRow>];
  gpusCollected: [SamplesEvent<GpuSampleRow>];
  poolStateChanged: [PoolStateEvent];
  sensorStatusChanged: [SensorStatusEvent];
  deviceListChanged: [DeviceListEvent];
  alertConfigChanged: [AlertConfigEvent];
  checkResultChanged: [CheckResultEvent];
  checksChanged: [ChecksChangedEvent];
};

export type Topic = keyof Topics;
export type Payload<T extends Topic> = Topics[T][0];

export interface EventBus extends PubSub<Topics> {
  /**
   * A plain listener, called synchronously for each event of `topic`; returns its removal.
   * Unlike `subscribe` there is no queue in between: the caller bounds its own backlog (a
   * subscribe Repeater that is not drained throws RepeaterOverflowError past 1,024 events,
   * inside the publisher's dispatch). A listener that throws is logged, never rethrown.
   */
  listen<T extends Topic>(topic: T, listener: (payload: Payload<T>) => void): () => void;
  /**
   * Whether an event of `topic` published now can reach anyone: in this process, whether a
   * subscription or listener is open on it; across instances (Redis), always. A publisher may
   * skip building an event nobody would receive (the poller's sample events when no
   * subscription is open).
   */
  listening(topic: Topic): boolean;
}

/** In-process only: tests, benchmarks, a lone instance. */
export function createEventBus(eventTarget: EventTarget = new EventTarget(), log?: Logger): EventBus {
  // Every subscriber is a listener on one event type; Node's EventTarget warns past 10.
  setMaxListeners(0, eventTarget);
  const target = trackListeners(eventTarget as unknown as BusTarget);
  return withListen(createPubSub<Topics>({ eventTarget: target as never }), target, log, (topic) => target.listenersOf(topic) > 0);
}

/** What the bus needs of an event target (Yoga's Redis target is not a full EventTarget). */
interface BusTarget {
  addEventListener(type: string, listener: (event: CustomEvent) => void): void;
  removeEventListener(type: string, listener: (event: CustomEvent) => void): void;
  dispatchEvent(event: CustomEvent): boolean;
}

/**
 * The target with a count of its listeners per event type, kept as an EventTarget keeps them:
 * adding a listener twice adds it once, removing one never added changes nothing. Yoga's
 * subscriptions and `listen` both add theirs through it.
 */
function trackListeners(target: BusTarget): BusTarget & { listenersOf(type: string): number } {
  const listeners = new Map<string, Set<(event: CustomEvent) => void>>();
  return {
    addEventListener(type, listener) {
      let set = listeners.get(type);
      if (!set) listeners.set(type, (set = new Set()));
      set.add(listener);
      target.addEventListener(type, listener);
    },
    removeEventListener(type, listener) {
      const set = listeners.get(type);
      if (set?.delete(listener) && set.size === 0) listeners.delete(type);
      target.removeEventListener(type, listener);
    },
    dispatchEvent: (event) => target.dispatchEvent(event),
    listenersOf: (type) => listeners.get(type)?.size ?? 0,
  };
}

function withListen(pubsub: PubSub<Topics>, target: BusTarget, log: Logger | undefined, listening: (topic: Topic) => boolean): EventBus {
  return {
    publish: pubsub.publish,
    subscribe: pubsub.subscribe,
    listening,
    listen(topic, listener) {
      const handler = (event: CustomEvent): void => {
        try {
          listener(event.detail as Payload<typeof topic>);
        } catch (err) {
          // An exception out of an EventTarget listener would reach the process as uncaught.
          log?.error({ err, topic }, 'event listener failed');
        }
      };
      target.addEventListener(topic, handler);
      return () => target.removeEventListener(topic, handler);
    },
  };
}

export interface EventBusHandle {
  bus: EventBus;
  /** `redis` when events cross instances. */
  kind: 'memory' | 'redis';
  close(): Promise<void>;
}

export interface EventBusOptions {
  /** With a URL, events go through Redis pub/sub, so every instance sees every event. */
  redisUrl?: string;
  log?: Logger;
  /** Called for each publish (the events-published metric). */
  onPublish?: (topic: Topic) => void;
  /** How long the first Redis connection may take before start fails (default 10 s). */
  connectTimeoutMs?: number;
}

/**
 * The server's bus. With REDIS_URL it is Yoga's Redis event target: one connection publishes,
 * one subscribes (a subscribed Redis connection can do nothing else). Start fails when Redis is
 * unreachable, so a misconfigured instance does not silently serve only its own events; after
 * that ioredis reconnects by itself and events published meanwhile on other instances are lost
 * to this one's subscribers (Redis pub/sub keeps nothing).
 */
export async function openEventBus(options: EventBusOptions = {}): Promise<EventBusHandle> {
  const { redisUrl, log, onPublish } = options;
  if (!redisUrl) return { bus: counting(createEventBus(new EventTarget(), log), onPublish), kind: 'memory', close: async () => {} };

  // Imported here, not at the top: a server without REDIS_URL never holds the Redis client's modules (issue #16: idle memory).
  const [{ Redis }, { createRedisEventTarget }] = await Promise.all([import('ioredis'), import('@graphql-yoga/redis-event-target')]);
  const connect = async (role: string): Promise<Redis> => {
    const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null, connectTimeout: options.connectTimeoutMs ?? 10_000 });
    let lastError = '';
    client.on('error', (err: Error) => {
      // ioredis emits an error per failed reconnect; one line per distinct message is enough.
      if (err.message === lastError) return;
      lastError = err.message;
      log?.warn({ role, err: err.message }, 'redis connection error (reconnecting)');
    });
    client.on('ready', () => {
      if (lastError) log?.info({ role }, 'redis connection restored');
      lastError = '';
    });
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      throw new Error(`cannot reach REDIS_URL (${(err as Error).message}): start Redis or unset REDIS_URL to keep events in this process`);
    }
    return client;
  };
  const publishClient = await connect('publish');
  let subscribeClient: Redis;
  try {
    subscribeClient = await connect('subscribe');
  } catch (e) {
    publishClient.disconnect();
    throw e;
  }
  const eventTarget = createRedisEventTarget<CustomEvent>({ publishClient, subscribeClient });
  // Another instance may have subscribers to anything: every event is published.
  const bus = counting(withListen(createPubSub<Topics>({ eventTarget }), eventTarget as unknown as BusTarget, log, () => true), onPublish);
  log?.info({ redis: redactUrl(redisUrl) }, 'events go through Redis pub/sub');
  return {
    bus,
    kind: 'redis',
    async close() {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}

function counting(inner: EventBus, onPublish: ((topic: Topic) => void) | undefined): EventBus {
  if (!onPublish) return inner;
  return {
    publish(topic, ...args) {
      onPublish(topic);
      inner.publish(topic, ...args);
    },
    subscribe: inner.subscribe,
    listen: inner.listen,
    listening: inner.listening,
  };
}

function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = 'redacted';
  return u.toString();
}
