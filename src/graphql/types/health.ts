import { builder } from '../builder.ts';
import type { Services } from '../context.ts';

export const HealthStatus = builder.enumType('HealthStatus', {
  values: {
    OK: { description: 'Database reachable, nothing waiting to be written.' },
    DEGRADED: { description: 'Serving, but samples are waiting in the buffer or spool.' },
    DOWN: { description: 'The database is unreachable.' },
  } as const,
});

export interface DatabaseHealth {
  ok: boolean;
  timescale: string | null;
  latencyMs: number | null;
  error: string | null;
}

export interface Health {
  status: 'OK' | 'DEGRADED' | 'DOWN';
  database: DatabaseHealth;
  version: string;
  uptimeSeconds: number;
  subscribers: { ws: number; sse: number };
}

/** Shared by Query.health and /readyz. */
export async function checkHealth(s: Services): Promise<Health> {
  const started = performance.now();
  let database: DatabaseHealth;
  try {
    await s.db.pool.query('SELECT 1');
    database = { ok: true, timescale: s.db.timescale, latencyMs: performance.now() - started, error: null };
  } catch (e) {
    database = { ok: false, timescale: s.db.timescale, latencyMs: null, error: (e as Error).message };
  }
  const stats = s.poller?.stats() as { spool?: { records?: number }; writeQueue?: number } | undefined;
  const waiting = (stats?.spool?.records ?? 0) + (stats?.writeQueue ?? 0) > 1000;
  return {
    status: !database.ok ? 'DOWN' : waiting ? 'DEGRADED' : 'OK',
    database,
    version: s.version,
    uptimeSeconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000),
    subscribers: { ...s.subscribers },
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

const HealthRef = builder.objectRef<Health>('Health').implement({
  fields: (t) => ({
    status: t.field({ type: HealthStatus, resolve: (h) => h.status }),
    database: t.field({ type: DatabaseHealthRef, resolve: (h) => h.database }),
    version: t.exposeString('version'),
    uptimeSeconds: t.exposeInt('uptimeSeconds'),
    subscribers: t.field({ type: SubscriberCounts, resolve: (h) => h.subscribers }),
  }),
});

builder.queryField('health', (t) =>
  t.field({
    type: HealthRef,
    description: 'Is the service able to do its job? Open to every valid token.',
    resolve: (_root, _args, ctx) => checkHealth(ctx),
  }),
);
