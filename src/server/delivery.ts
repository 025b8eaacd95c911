/**
 * Bounded delivery, the same for every transport. A connection's outgoing buffer (what the
 * kernel has not taken yet) may pass SUBSCRIBER_MAX_BUFFER_BYTES only briefly: a burst (one
 * poller flush publishes up to a thousand samples in one tick) is fine if it drains, but a
 * buffer still over the bound OVER_BOUND_GRACE_MS later, or ever over BURST_FACTOR times the
 * bound, cuts the connection off: counted in /metrics, logged once, closed by the
 * transport's own means. Nothing else waits for it, so one stalled reader never slows or
 * grows anything shared; what it can hold is bounded by BURST_FACTOR × the bound.
 */
import { subscriberCutOff, deadPeerDropped, type StreamTransport } from '../metrics.ts';
import type { Logger } from '../log.ts';

/**
 * What a transport writes: text or bytes, or the parts of one message written one after
 * another as they are (graphql-ws's `next`: a frame header, the member's prefix and the
 * group's shared bytes, never copied into one buffer per member).
 */
export type Chunk = Buffer | string | readonly Buffer[];

const byteLength = (chunk: Chunk): number => {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  if (Buffer.isBuffer(chunk)) return chunk.length;
  let n = 0;
  for (const part of chunk) n += part.length;
  return n;
};

export interface OutboxOptions<C extends Chunk> {
  transport: StreamTransport;
  maxBytes: number;
  log: Logger;
  /** What the log line says about the connection (address, token id). */
  who: () => Record<string, unknown>;
  /** Bytes written but not yet taken by the kernel. */
  buffered: () => number;
  write: (chunk: C) => void;
  /** Ends the connection (after a cut-off or a dead heartbeat). */
  close: (why: 'slow' | 'dead') => void;
}

export interface Outbox<C extends Chunk = Buffer | string> {
  /** False once the connection is cut off (nothing is written then). */
  send(chunk: C): boolean;
  readonly closed: boolean;
  /** Marks the connection dead (heartbeat), counted and logged like a cut-off. */
  dead(detail: string): void;
  /** Resolves once less than half the bound is waiting (at once when so, or when closed): for senders that can wait, like a replay. */
  whenWritable(): Promise<void>;
}

const WRITABLE_POLL_MS = 10;

/** How long a buffer may stay over the bound. */
export const OVER_BOUND_GRACE_MS = 1000;
/** Over this many times the bound, a connection is cut off at once. */
export const BURST_FACTOR = 4;

export function createOutbox<C extends Chunk>(o: OutboxOptions<C>): Outbox<C> {
  let closed = false;
  let overSince: number | undefined;
  return {
    send(chunk) {
      if (closed) return false;
      const size = byteLength(chunk);
      const buffered = o.buffered();
      if (buffered + size <= o.maxBytes) {
        overSince = undefined;
        o.write(chunk);
        return true;
      }
      const now = performance.now();
      overSince ??= now;
      if (buffered + size <= o.maxBytes * BURST_FACTOR && now - overSince <= OVER_BOUND_GRACE_MS) {
        o.write(chunk);
        return true;
      }
      closed = true;
      subscriberCutOff(o.transport);
      o.log.warn({ ...o.who(), transport: o.transport, bufferedBytes: buffered, maxBytes: o.maxBytes }, 'slow consumer cut off: its outgoing buffer is full (SUBSCRIBER_MAX_BUFFER_BYTES)');
      o.close('slow');
      return false;
    },
    get closed() {
      return closed;
    },
    async whenWritable() {
      while (!closed && o.buffered() > o.maxBytes / 2) await new Promise((r) => setTimeout(r, WRITABLE_POLL_MS));
    },
    dead(detail) {
      if (closed) return;
      closed = true;
      deadPeerDropped(o.transport);
      o.log.info({ ...o.who(), transport: o.transport }, `dead peer dropped: ${detail}`);
      o.close('dead');
    },
  };
}
