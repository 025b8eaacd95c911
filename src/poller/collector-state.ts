/**
 * Per device and collector: is it OK, FAILING, UNAVAILABLE on this host, or DISABLED? Pure: what
 * a run ended in + what was known before → the new state; and the schedule that follows from it.
 *
 *   ran clean                                       → OK
 *   ran with partial problems (one drive unreadable) → FAILING
 *   cannot run here (UNAVAILABLE_REASONS: tool missing, daemon down, permission denied, no
 *     drives) and never ran fine before             → UNAVAILABLE (not a fault: most hosts lack docker or smartctl)
 *   … but it was OK or FAILING before               → FAILING (it worked: the daemon stopping is an incident)
 *   any other failure (bad output, timeout)         → FAILING
 *   host unreachable, login refused                 → unchanged: the device's status tells that story
 *   switched off for the device                     → DISABLED, never run
 * Switching a collector off and on again forgets its history, so a tool removed for good reads
 * UNAVAILABLE instead of FAILING. An UNAVAILABLE collector is re-probed hourly (and by pollDevice).
 */
import { z } from 'zod';
import { COLLECTOR_NAMES } from '../collectors/index.ts';
import { UNAVAILABLE_REASONS, type CollectorErrorReason, type CollectorName } from '../collectors/types.ts';
import type { Device as DeviceRow } from '../db/generated/client.ts';
import type { Intervals } from './scheduler.ts';
import type { CollectorOutcome } from './status.ts';

export const COLLECTOR_STATUSES = ['OK', 'FAILING', 'UNAVAILABLE', 'DISABLED'] as const;
export type CollectorStatus = (typeof COLLECTOR_STATUSES)[number];

/** What the runs of one collector on one device last said (persisted in devices.collector_states). */
export interface CollectorRunState {
  state: Exclude<CollectorStatus, 'DISABLED'>;
  reason: string | null;
  lastRunAt: Date;
  /** When it entered this state. */
  since: Date;
}

/** The API's view: a state for every collector of the registry. `state` null: enabled, never run. */
export interface CollectorView {
  name: CollectorName;
  state: CollectorStatus | null;
  reason: string | null;
  lastRunAt: Date | null;
  since: Date | null;
  enabled: boolean;
}

/** The database column holding each collector's own interval (null: the server's POLLING_*_INTERVAL). */
export const INTERVAL_COLUMN = {
  system: 'systemInterval',
  containers: 'containerInterval',
  drives: 'driveInterval',
  storage: 'storageInterval',
  sensors: 'sensorInterval',
  gpu: 'gpuInterval',
} as const satisfies Record<CollectorName, keyof DeviceRow>;

/** How often an UNAVAILABLE collector is tried again: a tool being installed is rare, a poll of a missing one is waste. */
export const REPROBE_SECONDS = 3600;

export function isUnavailableReason(reason: string): boolean {
  return UNAVAILABLE_REASONS.has(reason as CollectorErrorReason);
}

/** The next state after one run; undefined when the outcome says nothing about the collector (host not reached). */
export function nextCollectorState(previous: CollectorRunState | undefined, outcome: CollectorOutcome, time: Date): CollectorRunState | undefined {
  const to = (state: CollectorRunState['state'], reason: string | null): CollectorRunState => ({
    state,
    reason,
    lastRunAt: time,
    since: previous?.state === state ? previous.since : time,
  });
  if (outcome.kind === 'ok') return outcome.problems.length === 0 ? to('OK', null) : to('FAILING', outcome.problems.join('; '));
  if (outcome.kind === 'transport') {
    if (['CONNECT', 'CLOSED', 'AUTH', 'HOST_KEY'].includes(outcome.error)) return undefined;
    return to('FAILING', outcome.message);
  }
  if (isUnavailableReason(outcome.reason)) {
    const worked = previous?.state === 'OK' || previous?.state === 'FAILING';
    return to(worked ? 'FAILING' : 'UNAVAILABLE', outcome.message);
  }
  return to('FAILING', outcome.message);
}

/** Seconds per enabled collector: the device's override, else the server's; UNAVAILABLE ones hourly at most. */
export function scheduleIntervals(
  configured: Record<CollectorName, number>,
  disabled: readonly string[],
  states: ReadonlyMap<CollectorName, CollectorRunState>,
): Intervals {
  const out: Intervals = {};
  for (const name of COLLECTOR_NAMES) {
    if (disabled.includes(name)) continue;
    const seconds = configured[name];
    out[name] = states.get(name)?.state === 'UNAVAILABLE' ? Math.max(seconds, REPROBE_SECONDS) : seconds;
  }
  return out;
}

export function viewOf(
  name: CollectorName,
  run: CollectorRunState | undefined,
  settings: { disabled: readonly string[]; monitoringEnabled: boolean },
): CollectorView {
  const enabled = !settings.disabled.includes(name);
  const base = { name, enabled, lastRunAt: run?.lastRunAt ?? null };
  if (!enabled) return { ...base, state: 'DISABLED', reason: 'switched off for this device', since: null };
  if (!settings.monitoringEnabled) return { ...base, state: 'DISABLED', reason: 'monitoring is off for this device', since: null };
  return { ...base, state: run?.state ?? null, reason: run?.reason ?? null, since: run?.since ?? null };
}

const storedState = z.object({
  state: z.enum(['OK', 'FAILING', 'UNAVAILABLE']),
  reason: z.string().nullable(),
  lastRunAt: z.coerce.date(),
  since: z.coerce.date(),
});

/** Reads devices.collector_states; anything unreadable (an older or newer shape) is dropped, not fatal. */
export function readStates(json: unknown): Map<CollectorName, CollectorRunState> {
  const out = new Map<CollectorName, CollectorRunState>();
  if (typeof json !== 'object' || json === null) return out;
  for (const name of COLLECTOR_NAMES) {
    const parsed = storedState.safeParse((json as Record<string, unknown>)[name]);
    if (parsed.success) out.set(name, parsed.data);
  }
  return out;
}

export function writeStates(states: ReadonlyMap<CollectorName, CollectorRunState>): Record<string, { state: string; reason: string | null; lastRunAt: string; since: string }> {
  const out: Record<string, { state: string; reason: string | null; lastRunAt: string; since: string }> = {};
  for (const [name, s] of states) out[name] = { state: s.state, reason: s.reason, lastRunAt: s.lastRunAt.toISOString(), since: s.since.toISOString() };
  return out;
}
