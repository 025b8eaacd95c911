/**
 * The statements of the write path, derived from a table's description (tables.ts) alone: the
 * session's staging table, the COPY that loads it (text format, rows encoded here) and the
 * INSERT … SELECT that moves its rows into the hypertable. A new table needs only its
 * description.
 */
import type { Column, TableSpec } from './tables.ts';

export const stagingTable = (spec: TableSpec<unknown>): string => `staging_${spec.table}`;

const names = (spec: TableSpec<unknown>): string => spec.columns.map((c) => c.name).join(', ');

/**
 * A temporary table per session with the hypertable's column types (and none of its
 * constraints, defaults or indexes), emptied by every commit of a transaction that used it.
 * Created once per connection: cheaper than a CREATE … ON COMMIT DROP per flush, which writes
 * the catalogs every time (docs/benchmarks.md measures both).
 */
export const createStagingSql = (spec: TableSpec<unknown>): string =>
  `CREATE TEMP TABLE IF NOT EXISTS ${stagingTable(spec)} ON COMMIT DELETE ROWS AS SELECT ${names(spec)} FROM ${spec.table} WITH NO DATA`;

export const copySql = (spec: TableSpec<unknown>): string => `COPY ${stagingTable(spec)} (${names(spec)}) FROM STDIN`;

/**
 * The hypertable's one write per flush. A row already stored (a replay after an outage) is
 * skipped by the unique index, which makes writes idempotent; so is a repeat within the batch.
 *
 * It answers one row per (device, time) it inserted: how many rows and the highest ingest
 * sequence number among them (the `seq` column's default), which live events carry as their
 * resume cursor. Skipped rows are not in the answer, so a replayed duplicate is never
 * announced again.
 */
export const insertSql = (spec: TableSpec<unknown>): string =>
  `WITH ins AS (INSERT INTO ${spec.table} (${names(spec)}) SELECT ${names(spec)} FROM ${stagingTable(spec)} ON CONFLICT DO NOTHING RETURNING device_id, time, seq) ` +
  'SELECT device_id, round(extract(epoch FROM time) * 1000)::float8 AS ms, max(seq)::float8 AS seq, count(*)::int AS n FROM ins GROUP BY device_id, time';

/** What insertSql answers per (device, time). */
export interface InsertedGroup {
  device_id: string;
  ms: number;
  seq: number | null;
  n: number;
}

const SPECIAL = /[\\\t\n\r]/;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * One field in COPY's text format: \N for null/undefined; in text, the backslash and the
 * characters that separate fields and rows (tab, newline, carriage return) as backslash
 * escapes, everything else (quotes, unicode) as it is; a Date as ISO 8601 with its
 * milliseconds and Z; numbers and booleans as String() writes them, which PostgreSQL reads
 * back exactly (float8 shortest round trip, integers up to 2^53).
 */
export function copyField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return SPECIAL.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => ESCAPED[c]!) : v;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** The COPY payload for rows[from, to): one line per row, fields in the description's order. */
export function copyLines<Row>(columns: readonly Column<Row>[], rows: readonly Row[], from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const row = rows[i]!;
    for (let c = 0; c < columns.length; c++) s += (c === 0 ? '' : '\t') + copyField(columns[c]!.get(row));
    s += '\n';
  }
  return s;
}
