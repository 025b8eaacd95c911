import { builder } from '../builder.ts';
import type { Services } from '../context.ts';
import type { PollerStats } from '../../poller/index.ts';
import { DEVICE_STATUSES, type DeviceStatus } from '../../poller/status.ts';

import { DeviceStatusEnum } from './devices.ts';


export const HealthStatus = builder.enumType('HealthStatus', {
  values: {
    OK: { description: 'Database reachable, nothing waiting to be written.' },
    DEGRADED: { description: 'Serving, but samples are waiting in the buffer or spool.' },
    DOWN: { description: 'The database is unreachable: queries that need it answer DATABASE_UNAVAILABLE (HTTP 503), subscriptions stay open, samples are spooled.' },
  } as const,
});

export interface DatabaseHealth {
  ok: boolean;
  timescale: string | null;
  latencyMs: number | null;
  error: string | null;
}

export interface PollerHealth {
  devices: number;
  inFlight: number;
  waiting: number;
  pollsPerMinute: number;
  pollsTotal: number;
  pollsFailed: number;
  writeQueueRows: number;
  bufferedRows: number;
  spoolRecords: number;
  spoolBytes: number;
  droppedRows: number;
  spoolCorruptRecords: number;
  spoolSkippedRows: number;
  spoolQuarantinedSegments: number;
  outage: boolean;
}

export interface Health {
  status: 'OK' | 'DEGRADED' | 'DOWN';
  /** Why the status is not OK (null when it is). */
  reason: string | null;
  database: DatabaseHealth;
  version: string;
  uptimeSeconds: number;
  subscribers: { ws: number; sse: number };
  /** Null when this server runs no poller. */
  poller: PollerHealth | null;
}

/** Samples waiting (write queue + outage buffer + spool) above which the service counts as DEGRADED. */
const WAITING_DEGRADED = 1000;

/** What Query.health shows of the poller's stats. */
export function readPollerStats(stats: PollerStats): PollerHealth {
  const { writer } = stats;
  return {
    devices: stats.devices,
    inFlight: stats.inFlight,
    waiting: stats.waiting,
    pollsPerMinute: stats.pollsLastMinute,
    pollsTotal: stats.pollsTotal,
    pollsFailed: stats.pollsFailed,
    writeQueueRows: writer.queuedRows,
    bufferedRows: writer.bufferedRows,
    spoolRecords: writer.spool.records,
    spoolBytes: writer.spool.bytes,
    droppedRows: writer.droppedRows,
    spoolCorruptRecords: writer.spool.corruptRecords,
    spoolSkippedRows: writer.spool.skippedRows,
    spoolQuarantinedSegments: writer.spool.quarantinedSegments,
    outage: writer.outage,
  };
}

/** A database that does not answer within this is reported down (a dropped-packet host would otherwise hold health for the connect timeout). */
const DATABASE_CHECK_MS = 2000;

async function checkDatabase(s: Services): Promise<DatabaseHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      s.db.pool.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${DATABASE_CHECK_MS} ms`)), DATABASE_CHECK_MS);
      }),
    ]);
    return { ok: true, timescale: s.db.timescale, latencyMs: performance.now() - started, error: null };
  } catch (e) {
    return { ok: false, timescale: s.db.timescale, latencyMs: null, error: (e as Error).message || (e as NodeJS.ErrnoException).code || 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}

function reasonFor(database: DatabaseHealth, poller: PollerHealth | null, waiting: number): string | null {
  if (!database.ok) return `database unreachable: ${database.error}`;
  if (poller?.outage) return 'the sample writer cannot write to the database yet: samples wait in the spool';
  if (waiting > WAITING_DEGRADED) return `${waiting} samples waiting to be written`;
  return null;
}

/** Shared by Query.health and /readyz; answers without the database (it is what may be down). */
export async function checkHealth(s: Services): Promise<Health> {
  const database = await checkDatabase(s);
  let poller: PollerHealth | null = null;
  try {
    poller = s.poller ? readPollerStats(s.poller.stats()) : null;
  } catch (e) {
    s.log.warn({ err: (e as Error).message }, 'poller stats unavailable');
  }
  const waiting = (poller?.writeQueueRows ?? 0) + (poller?.bufferedRows ?? 0) + (poller?.spoolRecords ?? 0);
  const reason = reasonFor(database, poller, waiting);
  return {
    status: !database.ok ? 'DOWN' : reason ? 'DEGRADED' : 'OK',
    reason,
    database,
    version: s.version,
    uptimeSeconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000),
    subscribers: { ...s.subscribers },
    poller,
  };
}

const DatabaseHealthRef = builder.objectRef<DatabaseHealth>('DatabaseHealth').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    timescale: t.exposeString('timescale', { nullable: true, description: 'TimescaleDB version, null on plain PostgreSQL.' }),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

const SubscriberCounts = builder.objectRef<{ ws: number; sse: number }>('SubscriberCounts').implement({
  fields: (t) => ({ ws: t.exposeInt('ws'), sse: t.exposeInt('sse') }),
});

const PollerHealthRef = builder.objectRef<PollerHealth>('PollerHealth').implement({
  description: 'The polling engine. A value the running poller does not report is null.',
  fields: (t) => ({
    devices: t.exposeInt('devices', { nullable: true, description: 'Devices the poller knows.' }),
    inFlight: t.exposeInt('inFlight', { nullable: true, description: 'Device polls running now.' }),
    waiting: t.exposeInt('waiting', { nullable: true, description: 'Device polls waiting for a concurrency slot.' }),
    pollsPerMinute: t.exposeInt('pollsPerMinute', { nullable: true, description: 'Device polls in the last 60 s.' }),
    pollsTotal: t.exposeInt('pollsTotal', { nullable: true }),
    pollsFailed: t.exposeInt('pollsFailed', { nullable: true, description: 'Polls in which at least one collector failed.' }),
    writeQueueRows: t.exposeInt('writeQueueRows', { nullable: true, description: 'Rows waiting for the next batched write.' }),
    bufferedRows: t.exposeInt('bufferedRows', { nullable: true, description: 'Rows held in memory while the database is unreachable.' }),
    spoolRecords: t.exposeInt('spoolRecords', { nullable: true, description: 'Batches waiting in the on-disk spool.' }),
    spoolBytes: t.field({ type: 'Long', nullable: true, resolve: (p) => p.spoolBytes }),
    droppedRows: t.field({ type: 'Long', nullable: true, description: 'Rows lost since start: refused by the database, or dropped while neither the database nor the spool could take them.', resolve: (p) => p.droppedRows }),
    spoolCorruptRecords: t.exposeInt('spoolCorruptRecords', { nullable: true, description: 'Spool records found torn or corrupt (skipped on replay), including those in quarantined segments.' }),
    spoolSkippedRows: t.field({ type: 'Long', nullable: true, description: 'Rows in skipped spool records (records whose header was damaged too cannot be counted in rows).', resolve: (p) => p.spoolSkippedRows }),
    spoolQuarantinedSegments: t.exposeInt('spoolQuarantinedSegments', { nullable: true, description: 'Damaged spool segments kept as DATA_DIR/spool/*.seg.corrupt.' }),
    outage: t.exposeBoolean('outage', { nullable: true, description: 'The writer cannot reach the database.' }),
  }),
});

const DeviceStatusCount = builder.objectRef<{ status: DeviceStatus; count: number }>('DeviceStatusCount').implement({
  fields: (t) => ({ status: t.field({ type: DeviceStatusEnum, resolve: (c) => c.status }), count: t.exposeInt('count') }),
});

const HealthRef = builder.objectRef<Health>('Health').implement({
  fields: (t) => ({
    status: t.field({ type: HealthStatus, resolve: (h) => h.status }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why the status is not OK, e.g. "database unreachable: connect ECONNREFUSED 127.0.0.1:5432"; null when OK.' }),
    database: t.field({ type: DatabaseHealthRef, resolve: (h) => h.database }),
    version: t.exposeString('version'),
    uptimeSeconds: t.exposeInt('uptimeSeconds'),
    subscribers: t.field({ type: SubscriberCounts, resolve: (h) => h.subscribers }),
    poller: t.field({ type: PollerHealthRef, nullable: true, description: 'Null when this server runs no poller.', resolve: (h) => h.poller }),
    devicesByStatus: t.field({
      type: [DeviceStatusCount],
      description: 'Devices per status, from the database (every status listed, zeros included).',
      resolve: async (_h, _args, ctx) => {
        const groups = await ctx.db.prisma.device.groupBy({ by: ['status'], _count: { _all: true } });
        const counts = new Map<string, number>(groups.map((g) => [g.status, g._count._all]));
        return DEVICE_STATUSES.map((status) => ({ status, count: counts.get(status) ?? 0 }));
      },
    }),
  }),
});

builder.queryField('health', (t) =>
  t.field({
    type: HealthRef,
    description: 'Is the service able to do its job? Open to every valid token.',
    resolve: (_root, _args, ctx) => checkHealth(ctx),
  }),
);
