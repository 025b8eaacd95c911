/**
 * Device leases: several instances share one fleet through PostgreSQL without polling a device
 * twice. Each instance advertises itself in `instances` (heartbeat with every cycle) and, every
 * `renewMs`, in one cycle:
 *
 *   1. renews the leases it holds (`lease_owner = me`) to now + leaseMs; a device it held that
 *      is not renewed was taken over (its lease had lapsed) or deleted, and is dropped;
 *   2. computes its fair share, ceil(devices / live instances), live meaning a heartbeat within
 *      one lease period;
 *   3. below its share, claims unleased or expired devices with `FOR UPDATE SKIP LOCKED`, so
 *      concurrent claimers never wait for or take the same row; above it (an instance joined),
 *      hands the excess over: owner cleared, `lease_expires_at` set to now, which tells the
 *      next claimer "polled until now: wait for the next slot".
 *
 * A lone instance's share is everything. A crashed instance's leases lapse within one lease
 * period and are claimed at the next cycle of the others. Graceful shutdown clears its leases
 * entirely (owner and expiry), so whoever claims them polls at once.
 *
 * Times are the database's (`now()`), never the instances' clocks; `lease_expires_at` is a
 * `timestamp` column holding UTC, as Prisma writes it.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { PrismaClient } from '../db/generated/client.ts';
import type { Logger } from '../log.ts';

export interface LeaseOptions {
  prisma: PrismaClient;
  log: Logger;
  instanceId?: string;
  leaseMs: number;
  renewMs: number;
  /**
   * Called synchronously just before devices are handed over: the poller unschedules them
   * first, so no poll of theirs can start after the hand-over time the next holder relies on.
   */
  beforeRelease?: (deviceIds: string[]) => void;
}

export interface Claimed {
  id: string;
  /**
   * Until when the previous holder may have polled it (ms since epoch); undefined when nobody
   * held it (new device, or released by a graceful shutdown): poll it at once.
   */
  polledUntil: number | undefined;
}

export interface LeaseCycle {
  /** Every device this instance holds after the cycle, with its row's updated_at (ms). */
  held: Map<string, number>;
  claimed: Claimed[];
  /** Handed over to balance the fleet. */
  released: string[];
  liveInstances: number;
  totalDevices: number;
}

export interface Leases {
  readonly instanceId: string;
  cycle(): Promise<LeaseCycle>;
  /** Claims one device if nobody else holds a live lease on it (a device just created or changed here). */
  claim(deviceId: string): Promise<Claimed | null>;
  /** Clears this instance's leases and its instance row (graceful shutdown). */
  releaseAll(): Promise<number>;
}

export function defaultInstanceId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

const UTC_NOW = `(now() AT TIME ZONE 'UTC')`;

export function createLeases(options: LeaseOptions): Leases {
  const { prisma, log } = options;
  const instanceId = options.instanceId ?? defaultInstanceId();
  const leaseSeconds = options.leaseMs / 1000;
  const hostname = os.hostname();

  /**
   * Until when a previous holder may have polled a device: a handed-over lease carries the
   * hand-over time; a lapsed one its expiry, since a holder never polls past its lease
   * (ownership.ts skips scheduled polls once the lease may have lapsed). Guessing earlier (the
   * holder "probably" died soon after its last renewal) double-polls when a holder renewed late.
   */
  const polledUntil = (expiresAt: Date | null): number | undefined => expiresAt?.getTime();

  type ClaimRow = { id: string; previous_owner: string | null; previous_expires_at: Date | null };
  const toClaimed = (rows: ClaimRow[]): Claimed[] => rows.map((r) => ({ id: r.id, polledUntil: polledUntil(r.previous_expires_at) }));

  return {
    instanceId,

    async cycle() {
      await prisma.$executeRawUnsafe(
        `INSERT INTO instances (id, hostname, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, now(), now())
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
        instanceId,
        hostname,
        process.pid,
      );
      const renewed = await prisma.$queryRawUnsafe<{ id: string; updated_at: Date }[]>(
        `UPDATE devices SET lease_expires_at = ${UTC_NOW} + $2 * interval '1 second'
         WHERE lease_owner = $1 RETURNING id, updated_at`,
        instanceId,
        leaseSeconds,
      );
      const held = new Map(renewed.map((r) => [r.id, r.updated_at.getTime()]));
      const [counts] = await prisma.$queryRawUnsafe<{ live: number; total: number }[]>(
        `SELECT (SELECT count(*)::int FROM instances WHERE heartbeat_at > now() - $1 * interval '1 second') AS live,
                (SELECT count(*)::int FROM devices) AS total`,
        leaseSeconds,
      );
      const live = Math.max(1, counts?.live ?? 1);
      const total = counts?.total ?? 0;
      const share = Math.ceil(total / live);
      let claimed: Claimed[] = [];
      const released: string[] = [];
      if (held.size < share) {
        const rows = await prisma.$queryRawUnsafe<(ClaimRow & { updated_at: Date })[]>(
          `UPDATE devices d SET lease_owner = $1, lease_expires_at = ${UTC_NOW} + $2 * interval '1 second'
           FROM (SELECT id, lease_owner, lease_expires_at FROM devices
                 WHERE lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < ${UTC_NOW}
                 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) prev
           WHERE d.id = prev.id
           RETURNING d.id, d.updated_at, prev.lease_owner AS previous_owner, prev.lease_expires_at AS previous_expires_at`,
          instanceId,
          leaseSeconds,
          share - held.size,
        );
        for (const r of rows) held.set(r.id, r.updated_at.getTime());
        claimed = toClaimed(rows);
      } else if (held.size > share) {
        // Hand over the ones sorting last, so instances agree on which devices move.
        const excess = [...held.keys()].sort().slice(share);
        options.beforeRelease?.(excess);
        await prisma.$executeRawUnsafe(
          `UPDATE devices SET lease_owner = NULL, lease_expires_at = ${UTC_NOW} WHERE lease_owner = $1 AND id = ANY($2::text[])`,
          instanceId,
          excess,
        );
        for (const id of excess) {
          held.delete(id);
          released.push(id);
        }
      }
      if (claimed.length > 0 || released.length > 0) {
        log.info({ instanceId, held: held.size, claimed: claimed.length, released: released.length, liveInstances: live, devices: total }, 'device leases rebalanced');
      }
      return { held, claimed, released, liveInstances: live, totalDevices: total };
    },

    async claim(deviceId) {
      const rows = await prisma.$queryRawUnsafe<ClaimRow[]>(
        `UPDATE devices d SET lease_owner = $1, lease_expires_at = ${UTC_NOW} + $2 * interval '1 second'
         FROM (SELECT id, lease_owner, lease_expires_at FROM devices
               WHERE id = $3 AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at IS NULL OR lease_expires_at < ${UTC_NOW})
               FOR UPDATE SKIP LOCKED) prev
         WHERE d.id = prev.id
         RETURNING d.id, CASE WHEN prev.lease_owner = $1 THEN NULL ELSE prev.lease_owner END AS previous_owner,
                   CASE WHEN prev.lease_owner = $1 THEN NULL ELSE prev.lease_expires_at END AS previous_expires_at`,
        instanceId,
        leaseSeconds,
        deviceId,
      );
      return toClaimed(rows)[0] ?? null;
    },

    async releaseAll() {
      const n = await prisma.$executeRawUnsafe(`UPDATE devices SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1`, instanceId);
      await prisma.$executeRawUnsafe(`DELETE FROM instances WHERE id = $1`, instanceId);
      return n;
    },
  };
}
