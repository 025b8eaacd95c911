/** The only reader of process.env: every setting of DESIGN §1, validated at once. */
import path from 'node:path';
import { z } from 'zod';
import type { CollectorName } from './collectors/types.ts';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (fallback: number, min: number, max: number) =>
  z.coerce
    .number({ message: 'expected a whole number' })
    .int({ message: 'expected a whole number' })
    .min(min, { message: `expected at least ${min}` })
    .max(max, { message: `expected at most ${max}` })
    .default(fallback);

/** Seconds between polls per collector: the POLLING_*_INTERVAL bounds, and a device's own interval's (src/graphql). */
export const POLLING_INTERVAL_BOUNDS = {
  system: { min: 5, max: 86_400 },
  containers: { min: 5, max: 86_400 },
  drives: { min: 5, max: 7 * 86_400 },
  storage: { min: 5, max: 86_400 },
  sensors: { min: 5, max: 86_400 },
  gpu: { min: 5, max: 86_400 },
} as const satisfies Record<CollectorName, { min: number; max: number }>;

const intervalOf = (collector: CollectorName, fallback: number) => int(fallback, POLLING_INTERVAL_BOUNDS[collector].min, POLLING_INTERVAL_BOUNDS[collector].max);

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v) && URL.canParse(v), {
    message: 'expected a postgresql://user@host:port/database URL',
  });

const schema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_CONNECT_ATTEMPTS: int(6, 1, 100),
  REDIS_URL: z
    .string()
    .refine((v) => /^rediss?:\/\//.test(v) && URL.canParse(v), { message: 'expected a redis://host:port URL' })
    .optional(),
  PORT: int(9101, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./.infrapulse'),
  INFRAPULSE_SECRET_KEY: z
    .string()
    .refine((v) => /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32, {
      message: 'expected 32 bytes as 64 hex characters or base64',
    })
    .optional(),
  INFRAPULSE_ADMIN_TOKEN: z.string().min(20, { message: 'expected at least 20 characters' }).optional(),
  MONITOR_LOCALHOST: bool(true),
  POLLING_ENABLED: bool(true),
  POLLING_CONTAINER_INTERVAL: intervalOf('containers', 30),
  POLLING_SYSTEM_METRICS_INTERVAL: intervalOf('system', 300),
  POLLING_DRIVE_HEALTH_INTERVAL: intervalOf('drives', 3600),
  POLLING_STORAGE_INTERVAL: intervalOf('storage', 300),
  POLLING_SENSORS_INTERVAL: intervalOf('sensors', 300),
  POLLING_GPU_INTERVAL: intervalOf('gpu', 300),
  POLLING_MAX_CONCURRENT_DEVICES: int(10, 1, 10_000),
  POLLING_LEASE_SECONDS: int(30, 2, 3600),
  POLLING_LEASE_RENEW_SECONDS: int(10, 1, 1200),
  INSTANCE_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, { message: 'expected 1-100 letters, digits, . _ : -' }).optional(),
  RETENTION_METRICS_DAYS: int(30, 1, 3650),
  RETENTION_DRIVES_DAYS: int(365, 1, 3650),
  RETENTION_CONTAINERS_DAYS: int(30, 1, 3650),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GRAPHIQL_ENABLED: bool(true),
  DASHBOARD_ENABLED: bool(true),
  INTROSPECTION_ENABLED: bool(true),
  GRAPHQL_MAX_DEPTH: int(10, 1, 100),
  GRAPHQL_MAX_ALIASES: int(15, 0, 1000),
  GRAPHQL_MAX_TOKENS: int(1000, 50, 100_000),
  GRAPHQL_MAX_COST: int(50_000, 10, 10_000_000),
  GRAPHQL_BATCH_LIMIT: int(10, 0, 100),
  REQUEST_MAX_BYTES: int(1_048_576, 1024, 64 * 1_048_576),
  GRAPHQL_MAX_CONCURRENT: int(4, 0, 10_000),
  GRAPHQL_MAX_QUEUED: int(64, 0, 1_000_000),
  RATE_LIMIT_MUTATIONS_PER_MINUTE: int(120, 0, 1_000_000),
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: int(30, 0, 1_000_000),
  SUBSCRIBER_MAX_BUFFER_BYTES: int(1_048_576, 16_384, 1024 * 1_048_576),
  SUBSCRIPTION_HEARTBEAT_SECONDS: int(12, 1, 3600),
  NOTIFY_ALLOW_PRIVATE_NETWORKS: bool(false),
  TOKEN_OUTAGE_GRACE_SECONDS: int(900, 0, 86_400),
  METRICS_TOKEN: z.string().min(16, { message: 'expected at least 16 characters' }).optional(),
  MCP_ENABLED: bool(true),
  MCP_SESSION_IDLE_SECONDS: int(600, 1, 7 * 86_400),
  MEMORY_TRIM_INTERVAL_SECONDS: int(10, 0, 86_400),
});

type Env = z.output<typeof schema>;

/** The settings as the code reads them: grouped by concern, derived from the validated environment. */
export type Config = ReturnType<typeof toConfig>;

function toConfig(e: Env) {
  return {
    databaseUrl: e.DATABASE_URL,
    /** Tries to reach DATABASE_URL at start (backoff 1, 2, 4, 8, 8… s) before giving up. */
    databaseConnectAttempts: e.DATABASE_CONNECT_ATTEMPTS,
    redisUrl: e.REDIS_URL,
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    secretKey: e.INFRAPULSE_SECRET_KEY,
    adminToken: e.INFRAPULSE_ADMIN_TOKEN,
    monitorLocalhost: e.MONITOR_LOCALHOST,
    logLevel: e.LOG_LEVEL,
    graphiql: e.GRAPHIQL_ENABLED,
    /** The built-in dashboard on `/` (src/dashboard). */
    dashboard: e.DASHBOARD_ENABLED,
    introspection: e.INTROSPECTION_ENABLED,
    /** GraphQL and transport limits (SECURITY.md); 0 turns a rate limit or batching off. */
    limits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
      batchLimit: e.GRAPHQL_BATCH_LIMIT,
      /** Largest HTTP request body and graphql-ws message. */
      maxRequestBytes: e.REQUEST_MAX_BYTES,
      mutationsPerMinute: e.RATE_LIMIT_MUTATIONS_PER_MINUTE,
      authFailuresPerMinute: e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
      /** GraphQL HTTP requests executing at once, and waiting beyond that before 503 (server/admission.ts); 0: no bound. */
      maxConcurrentRequests: e.GRAPHQL_MAX_CONCURRENT,
      maxQueuedRequests: e.GRAPHQL_MAX_QUEUED,
    },
    polling: {
      enabled: e.POLLING_ENABLED,
      /** Seconds, per collector family. */
      intervals: {
        containers: e.POLLING_CONTAINER_INTERVAL,
        system: e.POLLING_SYSTEM_METRICS_INTERVAL,
        drives: e.POLLING_DRIVE_HEALTH_INTERVAL,
        storage: e.POLLING_STORAGE_INTERVAL,
        sensors: e.POLLING_SENSORS_INTERVAL,
        gpu: e.POLLING_GPU_INTERVAL,
      },
      maxConcurrentDevices: e.POLLING_MAX_CONCURRENT_DEVICES,
    },
    /**
     * Scale-out: devices are leased through PostgreSQL for `leaseSeconds`, renewed every
     * `renewSeconds` (at most half the lease; clamped); `instanceId` names this instance
     * (default hostname:pid:random).
     */
    lease: { leaseSeconds: e.POLLING_LEASE_SECONDS, renewSeconds: e.POLLING_LEASE_RENEW_SECONDS, instanceId: e.INSTANCE_ID },
    retentionDays: {
      metrics: e.RETENTION_METRICS_DAYS,
      drives: e.RETENTION_DRIVES_DAYS,
      containers: e.RETENTION_CONTAINERS_DAYS,
    },
    /** Live delivery (docs/graphql.md): per-connection outgoing buffer bound, and keep-alive interval. */
    subscriptions: { maxBufferBytes: e.SUBSCRIBER_MAX_BUFFER_BYTES, heartbeatSeconds: e.SUBSCRIPTION_HEARTBEAT_SECONDS },
    /** Notification channels: loopback, private and link-local destinations allowed (default false: refused). */
    notify: { allowPrivateNetworks: e.NOTIFY_ALLOW_PRIVATE_NETWORKS },
    /** When set, /metrics answers only `Authorization: Bearer <metricsToken>` (Prometheus `authorization.credentials`). */
    metricsToken: e.METRICS_TOKEN,
    /** While the database is unreachable, tokens it confirmed within this many seconds keep working. */
    tokenOutageGraceSeconds: e.TOKEN_OUTAGE_GRACE_SECONDS,
    /**
     * The MCP endpoint on /mcp (src/mcp/). A session with no request or stream open for
     * `sessionIdleSeconds` is closed.
     */
    mcp: { enabled: e.MCP_ENABLED, sessionIdleSeconds: e.MCP_SESSION_IDLE_SECONDS },
    /** Seconds between returns of malloc's free pages to the kernel (src/memory-trim.ts); 0: never. */
    memoryTrimSeconds: e.MEMORY_TRIM_INTERVAL_SECONDS,
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Blank values count as unset, so `PORT=` in a compose file means "the default". */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input = Object.fromEntries(
    Object.keys(schema.shape).flatMap((k) => {
      const v = env[k]?.trim();
      return v ? [[k, v]] : [];
    }),
  );
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0]);
        const shown = key.includes('SECRET') || key.includes('TOKEN') ? '(hidden)' : JSON.stringify(input[key]);
        return `${key}=${shown}: ${i.message}`;
      }),
    );
  }
  return toConfig(parsed.data);
}
