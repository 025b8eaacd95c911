/**
 * Where a poll's status bookkeeping reaches the `devices` table.
 *
 * - A poll that changes nothing but lastSeenAt, the failure count, lastError or the collector
 *   states is queued and written with every other device's in one statement per `flushMs`
 *   (latest wins per device): at 1,000 devices that was one Prisma round trip per device-poll.
 * - A transition (status changed, or a refused host key to record) is written at once, with its
 *   StatusChange row in the same transaction, so its event never announces a row not yet there.
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
  /** Resolves once the row is stored (or the attempt failed and was logged). */
  write(deviceId: string, row: StatusRow): Promise<void>;
  /** Now, not batched: the row, and its StatusChange in the same transaction if there is one. */
  writeNow(deviceId: string, row: StatusRow, change: StatusChangeRow | null): Promise<void>;
  /** Writes what is queued; later writes go straight to the database. */
  stop(): Promise<void>;
}

// One statement for any number of devices: the rows travel as one JSON parameter. Timestamps
// are UTC ISO strings into `timestamp(3)` columns, which ignore the zone as Prisma's UTC storage expects.
const UPDATE_SQL = `UPDATE devices AS d SET
    status = v.status::"DeviceStatus",
    last_error = v.last_error,
    consecutive_failures = v.consecutive_failures,
    last_seen_at = COALESCE(v.last_seen_at, d.last_seen_at),
    pending_host_key = COALESCE(v.pending_host_key, d.pending_host_key),
    collector_states = v.collector_states
  FROM json_to_recordset($1::json) AS v(id text, status text, last_error text, consecutive_failures int, last_seen_at timestamp(3), pending_host_key text, collector_states jsonb)
  WHERE d.id = v.id`;

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
  let queued = new Map<string, { row: StatusRow; done: (() => void)[] }>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const store = async (rows: Map<string, StatusRow>): Promise<void> => {
    try {
      await prisma.$executeRawUnsafe(UPDATE_SQL, JSON.stringify([...rows].map(([id, r]) => wire(id, r))));
    } catch (err) {
      log.warn({ devices: rows.size, err: (err as Error).message }, 'could not store device status');
    }
  };

  const flush = async (): Promise<void> => {
    timer = undefined;
    const batch = queued;
    queued = new Map();
    if (batch.size === 0) return;
    await store(new Map([...batch].map(([id, q]) => [id, q.row])));
    for (const q of batch.values()) for (const done of q.done) done();
  };

  return {
    write(deviceId, row) {
      if (stopped) return store(new Map([[deviceId, row]]));
      return new Promise<void>((resolve) => {
        const q = queued.get(deviceId);
        if (q) {
          q.row = row;
          q.done.push(resolve);
        } else queued.set(deviceId, { row, done: [resolve] });
        timer ??= setTimeout(() => void flush(), flushMs);
      });
    },

    async writeNow(deviceId, row, change) {
      const update = prisma.$executeRawUnsafe(UPDATE_SQL, JSON.stringify([wire(deviceId, row)]));
      try {
        await (change ? prisma.$transaction([update, prisma.statusChange.create({ data: { deviceId, ...change } })]) : update);
      } catch (err) {
        log.warn({ deviceId, err: (err as Error).message }, 'could not store device status');
      }
    },

    async stop() {
      stopped = true;
      clearTimeout(timer);
      await flush();
    },
  };
}
