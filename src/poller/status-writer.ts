/**
 * Where a poll's status bookkeeping reaches the `devices` table.
 *
 * - Every poll's row (lastSeenAt, the failure count, lastError, the collector states, a refused
 *   host key) is queued and written with every other device's in one statement per `flushMs`
 *   (latest wins per device): at 1,000 devices that was one Prisma round trip per device-poll.
 * - A transition's StatusChange row goes in the same flush and the same statement as the
 *   update, and `write` resolves after the commit, so its event never announces a row not yet
 *   there. (Until 2026-12-02 each transition was a transaction of its own: 10,000 devices
 *   connecting at start were 10,000 transactions, and the sample writer's could not start.)
 * - Flushes never overlap: two updates of the same devices in two transactions can deadlock.
 *
 * Neither touches `updated_at`: it says when the device's settings last changed, which is how
 * lease renewals find devices edited on another instance (ownership.ts). Prisma's `update`
 * would bump it on every status write and make every renewal re-read those devices.
 *
 * Writes never throw: the device may be deleted meanwhile, or the database down; the next poll
 * writes the state again.
 */
import type { Prisma, PrismaClient } from '../db/generated/client.ts';
import type { Logger } from '../log.ts';
import type { DeviceStatus } from './status.ts';

export interface StatusRow {
  status: DeviceStatus;
  lastError: string | null;
  consecutiveFailures: number;
  /** Absent: lastSeenAt stays as stored. */
  lastSeenAt?: Date;
  /** Absent: pendingHostKey stays as stored. */
  pendingHostKey?: string;
  collectorStates: Prisma.InputJsonValue;
}

export interface StatusChangeRow {
  previous: DeviceStatus;
  current: DeviceStatus;
  reason: string | null;
  at: Date;
}

export interface StatusWriter {
  /** Resolves once the row (and the transition's StatusChange, if any) is stored, or the attempt failed and was logged. */
  write(deviceId: string, row: StatusRow, change?: StatusChangeRow | null): Promise<void>;
  /** Writes what is queued; later writes go straight to the database. */
  stop(): Promise<void>;
}

interface Queued {
  row: StatusRow;
  changes: StatusChangeRow[];
  done: (() => void)[];
}

// One statement for any number of devices, atomic: the rows travel as one JSON parameter, the
// transitions as another, and a transition is stored only for a device the update found (one
// deleted meanwhile is skipped, not a failed flush for every other device). Timestamps are UTC
// ISO strings into `timestamp(3)` columns, which ignore the zone as Prisma's UTC storage expects.
const WRITE_SQL = `WITH updated AS (
  UPDATE devices AS d SET
    status = v.status::"DeviceStatus",
    last_error = v.last_error,
    consecutive_failures = v.consecutive_failures,
    last_seen_at = COALESCE(v.last_seen_at, d.last_seen_at),
    pending_host_key = COALESCE(v.pending_host_key, d.pending_host_key),
    collector_states = v.collector_states
  FROM json_to_recordset($1::json) AS v(id text, status text, last_error text, consecutive_failures int, last_seen_at timestamp(3), pending_host_key text, collector_states jsonb)
  WHERE d.id = v.id
  RETURNING d.id)
INSERT INTO status_changes (device_id, previous, current, reason, at)
  SELECT c.device_id, c.previous::"DeviceStatus", c.current::"DeviceStatus", c.reason, c.at
  FROM json_to_recordset($2::json) AS c(device_id text, previous text, current text, reason text, at timestamp(3))
  JOIN updated ON updated.id = c.device_id`;

const wire = (deviceId: string, r: StatusRow) => ({
  id: deviceId,
  status: r.status,
  last_error: r.lastError,
  consecutive_failures: r.consecutiveFailures,
  last_seen_at: r.lastSeenAt?.toISOString() ?? null,
  pending_host_key: r.pendingHostKey ?? null,
  collector_states: r.collectorStates,
});

export function createStatusWriter({ prisma, log, flushMs }: { prisma: PrismaClient; log: Logger; flushMs: number }): StatusWriter {
  let queued = new Map<string, Queued>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let stopped = false;

  const store = async (batch: Map<string, Queued>): Promise<void> => {
    const rows = [...batch].map(([id, q]) => wire(id, q.row));
    const changes = [...batch].flatMap(([deviceId, q]) => q.changes.map((c) => ({ device_id: deviceId, previous: c.previous, current: c.current, reason: c.reason, at: c.at.toISOString() })));
    try {
      await prisma.$executeRawUnsafe(WRITE_SQL, JSON.stringify(rows), JSON.stringify(changes));
    } catch (err) {
      log.warn({ devices: batch.size, transitions: changes.length, err: (err as Error).message }, 'could not store device status');
    }
  };

  const flush = async (): Promise<void> => {
    const batch = queued;
    queued = new Map();
    if (batch.size === 0) return;
    await store(batch);
    for (const q of batch.values()) for (const done of q.done) done();
  };

  const runFlush = (): Promise<void> => {
    timer = undefined;
    flushing = flushing.then(flush);
    return flushing;
  };

  return {
    write(deviceId, row, change) {
      const changes = change ? [change] : [];
      if (stopped) return store(new Map([[deviceId, { row, changes, done: [] }]]));
      return new Promise<void>((resolve) => {
        const q = queued.get(deviceId);
        if (q) {
          q.row = row;
          q.changes.push(...changes);
          q.done.push(resolve);
        } else queued.set(deviceId, { row, changes, done: [resolve] });
        timer ??= setTimeout(() => void runFlush(), flushMs);
      });
    },

    async stop() {
      stopped = true;
      clearTimeout(timer);
      await runFlush();
    },
  };
}
