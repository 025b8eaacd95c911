/**
 * Subscriptions to the event bus, filtered by device. Built on a Repeater rather than an async
 * generator: a generator waiting for the next event cannot run its `return()` until another
 * matching event arrives, so an unsubscribed client would keep its listener (and its share
 * of fan-out work) until then. A Repeater stops at once and removes the listener.
 */
import { Repeater } from 'graphql-yoga';
import type { Topics } from '../../events/index.ts';
import type { Context } from '../context.ts';

type Topic = keyof Topics;
type Payload<T extends Topic> = Topics[T][0];

const active: Record<Topic, number> = {
  metricCollected: 0,
  deviceStatusChanged: 0,
  containerStateChanged: 0,
  driveHealthChanged: 0,
  alertChanged: 0,
  tokenRevoked: 0,
  deviceListChanged: 0,
};

/** Open GraphQL subscriptions per topic, across transports (for health and tests). */
export function activeSubscriptions(): Readonly<Record<Topic, number>> {
  return { ...active };
}

/** Every event of `topic`, or only one device's when deviceId is given. */
export function deviceEvents<T extends Topic>(ctx: Context, topic: T, deviceId: string | number | null | undefined): AsyncIterable<Payload<T>> {
  const wanted = deviceId === null || deviceId === undefined ? null : String(deviceId);
  return new Repeater<Payload<T>>(async (push, stop) => {
    // PubSub's rest-tuple signature does not narrow over a generic topic; every topic here takes no id.
    const source = (ctx.events.subscribe as (t: Topic) => AsyncIterable<unknown>)(topic)[Symbol.asyncIterator]();
    active[topic]++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      active[topic]--;
      void source.return?.();
    };
    void stop.then(release);
    try {
      for (;;) {
        const next = await source.next();
        if (next.done) break;
        const event = next.value as Payload<T>;
        if (wanted === null || (event as { deviceId?: string }).deviceId === wanted) await push(event);
      }
    } finally {
      release();
      stop();
    }
  });
}
