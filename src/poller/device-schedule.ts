/**
 * The poller's side of scheduling (slots, ticks and the concurrency cap are scheduler.ts's):
 * each device's intervals, and what a finished poll changes in its schedule.
 */
import { COLLECTOR_NAMES } from '../collectors/index.ts';
import type { CollectorName } from '../collectors/types.ts';
import type { Config } from '../config.ts';
import { backoffDelay } from '../transport/backoff.ts';
import { INTERVAL_COLUMN, scheduleIntervals } from './collector-state.ts';
import type { Connections } from './connections.ts';
import { isEnabled, type DeviceRuntime, type PollOutcome } from './poll-device.ts';
import type { Intervals, Scheduler } from './scheduler.ts';

/** Per collector: the device's interval or the server's, none for one switched off, hourly for one UNAVAILABLE. */
export function intervalsOf(defaults: Config['polling']['intervals'], rt: DeviceRuntime): Intervals {
  const d = rt.device;
  const configured = Object.fromEntries(COLLECTOR_NAMES.map((name) => [name, d[INTERVAL_COLUMN[name]] ?? defaults[name]])) as Record<CollectorName, number>;
  return scheduleIntervals(configured, d.disabledCollectors, rt.collectors);
}

/** A poll of the device's enabled collectors (the unreachable re-probe, trustHostKey). */
export const enabledOf = (rt: DeviceRuntime): CollectorName[] => COLLECTOR_NAMES.filter((n) => isEnabled(rt.device, n));

export const shouldSchedule = (rt: DeviceRuntime): boolean => rt.device.monitoringEnabled && rt.status !== 'HOST_KEY_MISMATCH';

export interface RescheduleOptions {
  scheduler: Pick<Scheduler<PollOutcome>, 'removeDevice' | 'hasDevice' | 'setDevice' | 'probe'>;
  connections: Pick<Connections, 'close'>;
  intervalsOf: (rt: DeviceRuntime) => Intervals;
  now: () => Date;
  /** Re-probe delays for unreachable devices. */
  probe: { baseMs: number; maxMs: number };
}

/** After each poll of a device: pause it, move its collectors' intervals, or re-probe it soon. */
export function createReschedule(options: RescheduleOptions): (rt: DeviceRuntime, outcome: PollOutcome) => void {
  const { scheduler, connections } = options;
  return (rt, outcome) => {
    const deviceId = rt.device.id;
    if (rt.status === 'HOST_KEY_MISMATCH') {
      // Nothing is sent to a host that may be an impostor until a person trusts its key.
      scheduler.removeDevice(deviceId);
      void connections.close(deviceId);
      return;
    }
    if (!scheduler.hasDevice(deviceId)) return;
    // A collector that became UNAVAILABLE (or available again) moves to its hourly (or own) interval.
    scheduler.setDevice(deviceId, options.intervalsOf(rt));
    const unreachable = outcome.skipped === 'backoff' || (rt.consecutiveFailures > 0 && outcome.outcomes.every((o) => o.kind === 'transport'));
    if (unreachable) {
      const delay = backoffDelay(Math.max(1, rt.consecutiveFailures), options.probe);
      scheduler.probe(deviceId, options.now().getTime() + delay, enabledOf(rt).slice(0, 1));
    }
  };
}
