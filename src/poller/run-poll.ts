/**
 * The scheduler's `run`: one poll of one device as this instance makes it. It checks that our
 * leases still allow a scheduled poll, loads the device on first sight, polls it
 * (poll-device.ts) and then counts it and adjusts its schedule.
 */
import type { CollectorName } from '../collectors/types.ts';
import { loadDevice } from './device-sync.ts';
import { DeviceNotFoundError } from './errors.ts';
import type { Ownership } from './ownership.ts';
import { newRuntime, pollDevice, type DeviceRuntime, type PollContext, type PollOutcome } from './poll-device.ts';
import type { PollReason, RunControl } from './scheduler.ts';
import type { PollCounts } from './stats.ts';

export interface RunPollOptions {
  ctx: PollContext;
  runtimes: Map<string, DeviceRuntime>;
  ownership: Pick<Ownership, 'skipPoll' | 'pollResumed'>;
  counts: Pick<PollCounts, 'record'>;
  reschedule(rt: DeviceRuntime, outcome: PollOutcome): void;
}

export type RunPoll = (deviceId: string, collectors: CollectorName[], reason: PollReason, control: RunControl) => Promise<PollOutcome>;

export function createRunPoll({ ctx, runtimes, ownership, counts, reschedule }: RunPollOptions): RunPoll {
  return async (deviceId, collectors, reason, control) => {
    if (ownership.skipPoll(reason)) {
      const status = runtimes.get(deviceId)?.status ?? 'UNKNOWN';
      return { deviceId, time: ctx.now(), collectors, outcomes: [], previousStatus: status, status, rows: 0, write: 'nothing', skipped: 'lease', ms: 0 };
    }
    let rt = runtimes.get(deviceId);
    if (!rt) {
      const device = await loadDevice(ctx.prisma, deviceId);
      if (!device) throw new DeviceNotFoundError(deviceId);
      rt = newRuntime(device);
      runtimes.set(deviceId, rt);
    }
    ownership.pollResumed(reason);
    // The slot bounds devices being talked to; storing and status bookkeeping wait on the database (shared with the API) without one.
    const outcome = await pollDevice(ctx, rt, collectors, control.releaseSlot);
    counts.record(outcome);
    reschedule(rt, outcome);
    return outcome;
  };
}
