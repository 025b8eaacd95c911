/**
 * Latest rows for many devices in one query: a LATERAL probe of the (device_id, time DESC)
 * index per device. (DISTINCT ON over the table took 30 s on 4.3 M rows where this took 1.7 ms.)
 * Read on the pg pool: through Prisma's raw query the 500 latest system rows took 26 ms at
 * the median against 16 over pg (docs/benchmarks.md, *Queries*).
 */
import pg from 'pg';
import type { ContainerRow, DiskIoRow, DriveHealthRow, FilesystemRow, GpuSampleRow, NetworkRow, SensorReadingRow, StoragePoolRow, SystemMetricsRow } from './types.ts';
import { TABLES, type TableSpec } from './tables.ts';

type Kind = keyof typeof TABLES;

export interface LatestRows {
  /** With its ingest sequence number (null for rows stored before sequence numbers existed). */
  system: SystemMetricsRow & { seq: number | null };
  filesystems: FilesystemRow;
  networks: NetworkRow;
  diskIo: DiskIoRow;
  drives: DriveHealthRow;
  containers: ContainerRow;
  pools: StoragePoolRow;
  sensors: SensorReadingRow;
  gpus: GpuSampleRow;
}

/** Column name → row key, computed once per name: rewriting every key of every row with a regex was a tenth of a busy API's CPU. */
const KEYS = new Map<string, string>();
function keyOf(column: string): string {
  let key = KEYS.get(column);
  if (key === undefined) {
    key = column === 'device_id' ? 'deviceId' : column === 'fs_type' ? 'fsType' : column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    KEYS.set(column, key);
  }
  return key;
}

/**
 * Per-subject tables (mounts, interfaces, drives, containers) return every row of the device's
 * latest poll, so a filesystem unmounted or a container removed since then is gone. Drives are
 * polled rarely; their latest poll is looked for within `lookbackDays`.
 */
function latestSql(spec: TableSpec<unknown>): string {
  // seq: a latest system sample's cursor lets a client subscribe (after: cursor) from exactly there.
  const cols = [...(spec.subject ? [] : ['seq']), ...spec.columns.map((c) => c.name)].map((c) => `m.${c}`).join(', ');
  if (!spec.subject) {
    return `SELECT ${cols} FROM unnest($1::text[]) AS d(id)
      CROSS JOIN LATERAL (SELECT * FROM ${spec.table} WHERE device_id = d.id ORDER BY time DESC LIMIT 1) m`;
  }
  return `SELECT ${cols} FROM unnest($1::text[]) AS d(id)
    CROSS JOIN LATERAL (SELECT time AS t FROM ${spec.table} WHERE device_id = d.id AND time > now() - make_interval(days => $2) ORDER BY time DESC LIMIT 1) l
    JOIN ${spec.table} m ON m.device_id = d.id AND m.time = l.t
    ORDER BY m.device_id, m.${spec.subject}`;
}

const SQL = Object.fromEntries(Object.entries(TABLES).map(([k, spec]) => [k, latestSql(spec as TableSpec<unknown>)])) as Record<Kind, string>;

/** pg returns int8 as a string: these columns (and seq) become numbers, exact below 2^53. */
const INT8 = new Set(['seq', ...Object.values(TABLES).flatMap((spec) => (spec.columns as { name: string; kind: string }[]).filter((c) => c.kind === 'int8').map((c) => c.name))]);

/** snake_case SQL row → the camelCase row type; bigint → number (exact below 2^53). */
export function toRow<T>(raw: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const k in raw) {
    const v = raw[k];
    out[keyOf(k)] = v !== null && (typeof v === 'bigint' || INT8.has(k)) ? Number(v) : v;
  }
  return out as T;
}

/**
 * toRow for a pg result read with `rowMode: 'array'`, through one compiled object literal per
 * column list: every row gets the same shape at once. Assigning 20-odd keys one by one
 * (`row[key] = v`) turns each row into a dictionary-mode object, about 3 KB a row, which with
 * the per-row, per-field lookups was 6 % of the query server's CPU and a third of what a
 * `devices(first: 500)` allocated.
 */
export function toRows<T>(result: pg.QueryResult<unknown[]>): T[] {
  const make = rowFactory(result.fields);
  return result.rows.map((raw) => make(raw) as T);
}

const FACTORIES = new Map<string, (raw: unknown[]) => object>();
const toNumber = (v: unknown): number | null => (v === null ? null : Number(v));

/** The column names come from our own SQL's result; JSON.stringify quotes them as keys. */
function rowFactory(fields: readonly pg.FieldDef[]): (raw: unknown[]) => object {
  const signature = fields.map((f) => f.name).join(',');
  let make = FACTORIES.get(signature);
  if (!make) {
    const props = fields.map((f, i) => `${JSON.stringify(keyOf(f.name))}: ${INT8.has(f.name) ? `n(r[${i}])` : `r[${i}]`}`);
    make = new Function('n', `return (r) => ({ ${props.join(', ')} });`)(toNumber) as (raw: unknown[]) => object;
    FACTORIES.set(signature, make);
  }
  return make;
}

/** `real[]`, the one array column (core_percents). */
const REAL_ARRAY = 1021;

/**
 * A one-dimensional `real[]` as PostgreSQL prints it: `{1.5,NULL,-3e-05}`. pg's own parser walks
 * the text a character at a time, building a string per character: a megabyte of the 6.4 MB a
 * `devices(first: 500)` request allocated (8 cores a host; a 64-core host is eight times that).
 */
export const parseRealArray = (text: string): (number | null)[] =>
  text === '{}' ? [] : text.slice(1, -1).split(',').map((v) => (v === 'NULL' ? null : Number(v)));

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === REAL_ARRAY ? parseRealArray : pg.types.getTypeParser(oid, format ?? 'text'))) as typeof pg.types.getTypeParser,
};

export async function latestRows<K extends Kind>(pool: pg.Pool, kind: K, deviceIds: readonly string[], lookbackDays = 30): Promise<LatestRows[K][]> {
  if (deviceIds.length === 0) return [];
  const params = TABLES[kind].subject ? [[...deviceIds], kind === 'drives' ? Math.max(lookbackDays, 7) : lookbackDays] : [[...deviceIds]];
  return toRows<LatestRows[K]>(await pool.query<unknown[]>({ text: SQL[kind], values: params, rowMode: 'array', types }));
}
