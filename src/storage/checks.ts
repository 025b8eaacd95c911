/**
 * check_results: one row per run of a check on a device (src/poller/checks.ts writes them,
 * GraphQL reads them). Written on their own through the writer's flush (writeTables: COPY into
 * staging, one Prisma raw INSERT … SELECT), outside the sample writer's batches: a check's
 * result is not a poll's sample and never waits behind one.
 */
import type { PrismaClient } from '../db/generated/client.ts';
import type { CheckStatus, CheckValues } from '../collectors/checks.ts';
import { planOf, writeTables } from './index.ts';
import type { TableSpec } from './tables.ts';

export interface CheckResultRow {
  time: Date;
  deviceId: string;
  checkId: string;
  status: CheckStatus;
  /** null when the command did not finish (TIMEOUT, TRUNCATED) or was killed by a signal. */
  exitCode: number | null;
  message: string;
  values: CheckValues;
}

/** A stored result with its check's name, as the alert evaluator sees it (CHECK_STATUS, CHECK_VALUE). */
export type NamedCheckResult = CheckResultRow & { checkName: string };

export const checkResults: TableSpec<CheckResultRow> = {
  table: 'check_results',
  subject: 'check_id',
  columns: [
    { name: 'time', kind: 'time', get: (r) => r.time },
    { name: 'device_id', kind: 'text', get: (r) => r.deviceId },
    { name: 'check_id', kind: 'text', get: (r) => r.checkId },
    { name: 'status', kind: 'text', get: (r) => r.status },
    { name: 'exit_code', kind: 'int4', get: (r) => r.exitCode },
    { name: 'message', kind: 'text', get: (r) => r.message },
    // A keyword: staging.ts quotes every column name.
    { name: 'values', kind: 'jsonb', get: (r) => JSON.stringify(r.values) },
  ],
};

const PLAN = planOf(checkResults as TableSpec<unknown>);

/** Stores the rows (a row already stored is skipped); returns how many were inserted. */
export async function writeCheckResults(prisma: PrismaClient, rows: readonly CheckResultRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const [answer] = await writeTables(prisma, [{ plan: PLAN, rows }]);
  return answer?.n ?? 0;
}

interface RawResult {
  time: Date;
  device_id: string;
  check_id: string;
  status: string;
  exit_code: number | null;
  message: string;
  values: unknown;
}

const toResult = (r: RawResult): CheckResultRow => ({
  time: r.time,
  deviceId: r.device_id,
  checkId: r.check_id,
  status: r.status as CheckStatus,
  exitCode: r.exit_code,
  message: r.message,
  values: (r.values ?? {}) as CheckValues,
});

const COLUMNS = 'r.time, r.device_id, r.check_id, r.status, r.exit_code, r.message, r."values"';

/** The latest result of each given check on each given device (an index probe per pair); pairs never run are absent. */
export async function latestCheckResults(prisma: PrismaClient, deviceIds: readonly string[], checkIds: readonly string[]): Promise<CheckResultRow[]> {
  if (deviceIds.length === 0 || checkIds.length === 0) return [];
  const raw = await prisma.$queryRawUnsafe<RawResult[]>(
    `SELECT ${COLUMNS} FROM unnest($1::text[]) AS d(id) CROSS JOIN unnest($2::text[]) AS c(id)
       CROSS JOIN LATERAL (SELECT * FROM check_results WHERE device_id = d.id AND check_id = c.id ORDER BY time DESC LIMIT 1) r
      ORDER BY r.device_id, r.check_id`,
    [...deviceIds],
    [...checkIds],
  );
  return raw.map(toResult);
}

/** Results of one check on one device in [from, to), newest first, at most `limit`. */
export async function checkResultHistory(prisma: PrismaClient, q: { checkId: string; deviceId: string; from: Date; to: Date; limit: number }): Promise<CheckResultRow[]> {
  const raw = await prisma.$queryRawUnsafe<RawResult[]>(
    `SELECT ${COLUMNS} FROM check_results r WHERE r.device_id = $1 AND r.check_id = $2 AND r.time >= $3 AND r.time < $4 ORDER BY r.time DESC LIMIT $5`,
    q.deviceId,
    q.checkId,
    q.from,
    q.to,
    q.limit,
  );
  return raw.map(toResult);
}
