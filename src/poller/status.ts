/**
 * The device status machine, pure: what the last poll of each collector said → the device's
 * status. No I/O, no clock; poll-device.ts persists and publishes what this decides.
 *
 *   monitoring off                                  → DISABLED
 *   host key refused                                → HOST_KEY_MISMATCH (not polled until trusted)
 *   credentials refused                             → AUTH_FAILED
 *   host unreachable (every collector: CONNECT,
 *     CLOSED, TIMEOUT), fewer than N times in a row → status kept, failures counted
 *   … N or more times in a row                      → OFFLINE
 *   host answered, every collector clean            → ONLINE
 *   host answered, some collector failing or
 *     reporting problems                            → DEGRADED
 * A collector that is simply not installed (no docker, no smartctl) is not a fault: most hosts
 * lack one of them, and calling those hosts DEGRADED forever would make the status useless.
 */
import type { CollectorName } from '../collectors/types.ts';
import type { TransportErrorKind } from '../transport/types.ts';

import { DeviceStatus } from '../db/generated/enums.ts';

export type { DeviceStatus };

/** Every device status, in the schema's order: the one list, from Prisma's enum. */
export const DEVICE_STATUSES: readonly DeviceStatus[] = Object.values(DeviceStatus);

/** What one collector's run ended in. */
export type CollectorOutcome =
  | { collector: CollectorName; kind: 'ok'; problems: string[] }
  | { collector: CollectorName; kind: 'transport'; error: TransportErrorKind; message: string }
  | { collector: CollectorName; kind: 'collector'; reason: string; message: string };

export const DEFAULT_OFFLINE_AFTER = 3;

/** Transport failures that say "the host did not answer", as opposed to "it answered badly". */
const UNREACHABLE: ReadonlySet<TransportErrorKind> = new Set(['CONNECT', 'CLOSED', 'TIMEOUT']);

export function isUnreachable(o: CollectorOutcome): boolean {
  return o.kind === 'transport' && UNREACHABLE.has(o.error);
}

/** A failure that makes a reachable device DEGRADED. */
function isFault(o: CollectorOutcome): boolean {
  if (o.kind === 'ok') return o.problems.length > 0;
  if (o.kind === 'collector') return o.reason !== 'NOT_INSTALLED';
  return true;
}

function describe(o: CollectorOutcome): string {
  if (o.kind === 'ok') return `${o.collector}: ${o.problems.join('; ')}`;
  return `${o.collector}: ${o.message}`;
}

export interface StatusInput {
  previous: DeviceStatus;
  consecutiveFailures: number;
  monitoringEnabled: boolean;
  /** Outcomes of the poll that just ran (one or more collectors). */
  poll: CollectorOutcome[];
  /** The latest outcome of each collector not in this poll, from earlier polls. */
  others?: CollectorOutcome[];
  /** Consecutive unreachable polls before OFFLINE (default 3). */
  offlineAfter?: number;
}

export interface StatusDecision {
  status: DeviceStatus;
  consecutiveFailures: number;
  /** Why the status is what it is; stored with the StatusChange. Null when all is well. */
  reason: string | null;
  /** For Device.lastError: null clears it. */
  lastError: string | null;
  /** The host answered (lastSeenAt moves). */
  seen: boolean;
}

export function nextStatus(input: StatusInput): StatusDecision {
  const { previous, poll } = input;
  const offlineAfter = input.offlineAfter ?? DEFAULT_OFFLINE_AFTER;

  if (!input.monitoringEnabled) {
    return { status: 'DISABLED', consecutiveFailures: 0, reason: 'monitoring disabled', lastError: null, seen: false };
  }
  if (poll.length === 0) {
    return { status: previous, consecutiveFailures: input.consecutiveFailures, reason: null, lastError: null, seen: false };
  }

  const hostKey = poll.find((o) => o.kind === 'transport' && o.error === 'HOST_KEY');
  if (hostKey) {
    const why = describe(hostKey);
    return { status: 'HOST_KEY_MISMATCH', consecutiveFailures: input.consecutiveFailures + 1, reason: why, lastError: why, seen: false };
  }
  const auth = poll.find((o) => o.kind === 'transport' && o.error === 'AUTH');
  if (auth) {
    const why = describe(auth);
    return { status: 'AUTH_FAILED', consecutiveFailures: input.consecutiveFailures + 1, reason: why, lastError: why, seen: false };
  }

  if (poll.every(isUnreachable)) {
    const failures = input.consecutiveFailures + 1;
    const why = describe(poll[0]!);
    if (failures >= offlineAfter) {
      return {
        status: 'OFFLINE',
        consecutiveFailures: failures,
        reason: `${failures} consecutive failed polls; last: ${why}`,
        lastError: why,
        seen: false,
      };
    }
    // Before N failures the device keeps its status: one dropped connection is not an outage.
    return { status: previous, consecutiveFailures: failures, reason: why, lastError: why, seen: false };
  }

  // The host answered. Unreachable outcomes from earlier polls are stale now.
  const current = [...poll, ...(input.others ?? []).filter((o) => !isUnreachable(o) && !(o.kind === 'transport' && (o.error === 'AUTH' || o.error === 'HOST_KEY')))];
  const faults = current.filter(isFault);
  if (faults.length === 0) {
    return { status: 'ONLINE', consecutiveFailures: 0, reason: null, lastError: null, seen: true };
  }
  const why = faults.map(describe).join('; ');
  return { status: 'DEGRADED', consecutiveFailures: 0, reason: why, lastError: why, seen: true };
}
