/**
 * The one pub/sub topic catalogue. Only poller/ (and alerts/) publish; only graphql/
 * subscribes. In-process by default; with REDIS_URL every instance sees every event.
 * Payloads are plain JSON-safe objects (times as ISO strings) so the Redis target carries
 * them unchanged.
 */
import { createPubSub, type PubSub } from 'graphql-yoga';
import type { SystemMetricsRow } from '../storage/types.ts';

/** A row as it travels: Dates become ISO strings. */
export type Wire<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

export function toWire<T extends object>(row: T): Wire<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof Date ? v.toISOString() : v;
  return out as Wire<T>;
}

export interface MetricEvent {
  deviceId: string;
  sample: Wire<SystemMetricsRow>;
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

export type Topics = {
  metricCollected: [MetricEvent];
  deviceStatusChanged: [DeviceStatusEvent];
  containerStateChanged: [ContainerStateEvent];
  driveHealthChanged: [DriveHealthEvent];
  alertChanged: [AlertEventPayload];
  tokenRevoked: [TokenRevokedEvent];
};

export type EventBus = PubSub<Topics>;

export function createEventBus(): EventBus {
  return createPubSub<Topics>();
}
