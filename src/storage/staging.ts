/**
 * The statements of the write path, derived from a table's description (tables.ts) alone: the
 * session's staging table, the COPY that loads it (binary format, rows encoded here) and the
 * INSERT … SELECT that moves its rows into the hypertable. A new table needs only its
 * description.
 */
import type { Column, TableSpec } from './tables.ts';

export const stagingTable = (spec: TableSpec<unknown>): string => `staging_${spec.table}`;

/** Quoted: a column may be named by a keyword (check_results.values). */
const names = (spec: TableSpec<unknown>): string => spec.columns.map((c) => `"${c.name}"`).join(', ');

/**
 * A temporary table per session with the hypertable's column types (and none of its
 * constraints, defaults or indexes), emptied by every commit of a transaction that used it.
 * Created once per connection: cheaper than a CREATE … ON COMMIT DROP per flush, which writes
 * the catalogs every time (docs/benchmarks.md measures both).
 */
export const createStagingSql = (spec: TableSpec<unknown>): string =>
  `CREATE TEMP TABLE IF NOT EXISTS ${stagingTable(spec)} ON COMMIT DELETE ROWS AS SELECT ${names(spec)} FROM ${spec.table} WITH NO DATA`;

/**
 * Where COPY FROM STDIN is not available (createAdapter's copyFromStdin: false), the staging
 * table is loaded from one JSON parameter instead (stagingJson): correct, but about 0.25 of
 * COPY's speed (bench/ingest-breakdown.ts), so meant for test servers.
 */
export const populateStagingSql = (spec: TableSpec<unknown>): string =>
  `INSERT INTO ${stagingTable(spec)} (${names(spec)}) SELECT ${names(spec)} FROM json_populate_recordset(NULL::${stagingTable(spec)}, $1::json)`;

/** The rows as a JSON array of objects keyed by column name; a jsonb column's value is its JSON text, embedded. */
export function stagingJson<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const keys = columns.map((c) => JSON.stringify(c.name));
  return `[${rows
    .map((row) => `{${columns.map((c, i) => {
      const v = c.get(row);
      return `${keys[i]}:${c.kind === 'jsonb' && typeof v === 'string' ? v : JSON.stringify(v ?? null)}`;
    }).join(',')}}`)
    .join(',')}]`;
}

export const copySql = (spec: TableSpec<unknown>): string => `COPY ${stagingTable(spec)} (${names(spec)}) FROM STDIN (FORMAT binary)`;

/**
 * The flush's one write into the hypertables: per staged table, its INSERT … SELECT as a
 * data-modifying CTE (PostgreSQL runs each exactly once), all in one statement, so a flush
 * costs one Prisma call and one round trip for its inserts however many tables it touches.
 * With one statement per table, Prisma's per-call work was 17 % of the 100-device poller's CPU
 * and 7 % of the 1,000-device one's, the same per flush whatever its size.
 *
 * A row already stored (a replay after an outage) is skipped by the unique index, which makes
 * writes idempotent; so is a repeat within the batch. It answers, per table (`i`, the table's
 * place in `specs`, in that order), how many rows it inserted and, per (device, time) among
 * them, the highest ingest sequence number (the `seq` column's default), which live events
 * carry as their resume cursor. Skipped rows are not in the answer, so a replayed duplicate is
 * never announced again. One row per table whatever the batch size, the groups as one JSON
 * text: with a row per group, Prisma's raw-result mapping took about half the write's client
 * CPU (95 → 49 ms for 10,000 rows, bench/ingest-breakdown.ts).
 */
export const insertSql = (specs: readonly TableSpec<unknown>[]): string => {
  const ctes = specs.map(
    (spec, i) =>
      `i${i} AS (INSERT INTO ${spec.table} (${names(spec)}) SELECT ${names(spec)} FROM ${stagingTable(spec)} ON CONFLICT DO NOTHING RETURNING device_id, time, seq), ` +
      `g${i} AS (SELECT device_id, round(extract(epoch FROM time) * 1000)::float8 AS ms, max(seq)::float8 AS seq, count(*)::int AS n FROM i${i} GROUP BY device_id, time)`,
  );
  const answers = specs.map((_, i) => `SELECT ${i} AS i, coalesce(sum(n), 0)::int AS n, coalesce(json_agg(json_build_array(device_id, ms, seq)), '[]')::text AS groups FROM g${i}`);
  return `WITH ${ctes.join(', ')} ${answers.join(' UNION ALL ')} ORDER BY i`;
};

/** What insertSql answers per table: rows inserted, and `groups` as JSON of InsertedGroup[]. */
export interface Inserted {
  n: number;
  groups: string;
}

/** Per (device, time) inserted: device id, sample time in epoch ms, highest sequence number. */
export type InsertedGroup = [deviceId: string, ms: number, seq: number | null];

/** Bytes per buffer of COPY data. */
const BLOCK = 1 << 16;

/**
 * COPY's binary format (network byte order throughout), written into 64 KB buffers: when one is
 * full it is kept as it is and the next begins, since CopyData messages need not end where a row
 * or a value does (PostgreSQL's protocol docs). A buffer that doubled to grow copied everything
 * written so far each time: a flush of 1,000 devices' polls (about 400 KB, most of it smartctl's
 * JSON) copied about as much again.
 */
class BinaryWriter {
  private readonly blocks: Buffer[] = [];
  buf = Buffer.allocUnsafe(BLOCK);
  at = 0;
  /** Room for `n` contiguous bytes at `at`. */
  reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    if (this.at > 0) this.blocks.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(BLOCK, n));
    this.at = 0;
  }
  int16(v: number): void {
    this.reserve(2);
    this.at = this.buf.writeInt16BE(v, this.at);
  }
  int32(v: number): void {
    this.reserve(4);
    this.at = this.buf.writeInt32BE(v, this.at);
  }
  /** A whole number within ±2^53 as int64: high word (signed) and low word. */
  int64(v: number): void {
    this.reserve(8);
    const hi = Math.floor(v / 4294967296);
    this.at = this.buf.writeInt32BE(hi, this.at);
    this.at = this.buf.writeUInt32BE(v - hi * 4294967296, this.at);
  }
  float8(v: number): void {
    this.reserve(8);
    this.at = this.buf.writeDoubleBE(v, this.at);
  }
  /** A length-prefixed UTF-8 field, after `prefix` bytes of the type's own (jsonb's version). */
  utf8(v: string, prefix?: number): void {
    const n = Buffer.byteLength(v);
    const extra = prefix === undefined ? 0 : 1;
    this.int32(n + extra);
    this.reserve(n + extra);
    if (prefix !== undefined) this.buf[this.at++] = prefix;
    this.at += this.buf.write(v, this.at, n, 'utf8');
  }
  take(): Buffer[] {
    if (this.at > 0) this.blocks.push(this.buf.subarray(0, this.at));
    return this.blocks;
  }
}

const whole = (v: number, min: number, max: number, kind: string): number => {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`not a valid ${kind}: ${v}`);
  return v;
};

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_MS = 946_684_800_000;
const FLOAT4_OID = 700;

/** Each kind's binary send format, length word included; never called with null. */
const ENCODE: Record<Column<never>['kind'], (w: BinaryWriter, v: never) => void> = {
  time: (w, v: Date) => {
    w.int32(8);
    w.int64((whole(v.getTime(), -8.64e15, 8.64e15, 'time') - PG_EPOCH_MS) * 1000);
  },
  text: (w, v: string) => w.utf8(v),
  float8: (w, v: number) => {
    w.int32(8);
    w.float8(v);
  },
  int4: (w, v: number) => {
    w.int32(4);
    w.int32(whole(v, -(2 ** 31), 2 ** 31 - 1, 'int4'));
  },
  int8: (w, v: number) => {
    w.int32(8);
    w.int64(whole(v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'int8'));
  },
  bool: (w, v: boolean) => {
    w.int32(1);
    w.reserve(1);
    w.buf[w.at++] = v ? 1 : 0;
  },
  // One dimension, lower bound 1, float4 elements; no dimensions at all when empty.
  'real[]': (w, v: readonly (number | null)[]) => {
    const hasNull = v.includes(null);
    w.int32(12 + (v.length ? 8 : 0) + v.length * 4 + v.filter((x) => x !== null).length * 4);
    w.int32(v.length ? 1 : 0);
    w.int32(hasNull ? 1 : 0);
    w.int32(FLOAT4_OID);
    if (v.length) {
      w.int32(v.length);
      w.int32(1);
    }
    for (const x of v) {
      if (x === null) w.int32(-1);
      else {
        w.int32(4);
        w.reserve(4);
        w.at = w.buf.writeFloatBE(x, w.at);
      }
    }
  },
  jsonb: (w, v: string) => w.utf8(v, 1),
};

const HEADER = Buffer.from('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1');
const TRAILER = Buffer.from([0xff, 0xff]);

/**
 * The rows in COPY's binary format, header and trailer included, as buffers of at most 64 KB
 * (more only for a single value that is larger), each one CopyData message. Binary, not text:
 * nothing to escape (text travels as its UTF-8 bytes, so tabs, newlines, backslashes and \N are
 * only characters), no number or timestamp to format here nor to parse on the server, which
 * made the text format cost as much as the whole COPY it fed (docs/benchmarks.md). A value the
 * column's type cannot hold throws.
 */
export function copyBinary<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): Buffer[] {
  const w = new BinaryWriter();
  w.at += HEADER.copy(w.buf, w.at);
  const encoders = columns.map((c) => ENCODE[c.kind] as (w: BinaryWriter, v: unknown) => void);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    w.int16(columns.length);
    for (let c = 0; c < columns.length; c++) {
      const v = columns[c]!.get(row);
      if (v === null || v === undefined) w.int32(-1);
      else encoders[c]!(w, v);
    }
  }
  w.reserve(2);
  w.at += TRAILER.copy(w.buf, w.at);
  return w.take();
}
