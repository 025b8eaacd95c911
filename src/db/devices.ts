/**
 * Device rows read on the pg pool. Through Prisma, the 500 rows of `devices(first: 500)` cost
 * Prisma's per-row result mapping (an Object.entries and a tagged-value pass per row, about
 * 9 KB of garbage per row): a scavenge per request and a fifth of a busy API's CPU
 * (docs/benchmarks.md, *Queries*). The device list's filters and pages are here too: even
 * asked for ids only, a Prisma query kept 13-19 % of everything its request allocated alive
 * into the old generation, where these queries keep about 1 % (*A body read twice*).
 *
 * No second mapping of the model: every column of `devices` is its Prisma field's name in
 * snake_case (schema.prisma's @map), so a row is `SELECT *` with each column name
 * camel-cased, pg's own parsers for each type, and Prisma's DateTime (timestamp(3), stored as
 * UTC) read as UTC. test/integration/db/device-rows.test.ts holds a row with every field set
 * against Prisma's, so a column that breaks the rule fails there.
 */
import pg from 'pg';
import { toRows } from '../storage/latest.ts';
import type { Device } from './generated/client.ts';

/** `timestamp without time zone`: pg's own parser would read it in the process's time zone. */
const TIMESTAMP = 1114;

const parseUtc = (text: string): Date => new Date(`${text.replace(' ', 'T')}Z`);

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === TIMESTAMP ? parseUtc : pg.types.getTypeParser(oid, format ?? 'text'))) as typeof pg.types.getTypeParser,
};

const BY_IDS = 'SELECT * FROM devices WHERE id = ANY($1::text[])';

const select = async (pool: pg.Pool, text: string, values: unknown[]): Promise<Device[]> =>
  toRows<Device>(await pool.query<unknown[]>({ text, values, types, rowMode: 'array' }));

/** What `devices(...)` filters on; every filter given must match. */
export interface DeviceFilter {
  statuses?: readonly string[];
  /** Has every one of these tags. */
  tags?: readonly string[];
  /** Case-insensitive substring of the name or the hostname: % _ and \ match only themselves. */
  search?: string;
  monitoringEnabled?: boolean;
}

/** A page by name: after / before are names (exclusive), `descending` reads backwards from `before`. */
export interface DevicePage {
  after?: string;
  before?: string;
  limit: number;
  descending: boolean;
}

/** ILIKE's escape character is a backslash: % _ and \ escaped match only themselves. */
const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, '\\$&');

function conditions(filter: DeviceFilter, values: unknown[]): string[] {
  const param = (v: unknown): string => `$${values.push(v)}`;
  const out: string[] = [];
  if (filter.statuses?.length) out.push(`status = ANY(${param(filter.statuses)}::"DeviceStatus"[])`);
  if (filter.tags?.length) out.push(`tags @> ${param(filter.tags)}::text[]`);
  if (filter.search) {
    const pattern = param(`%${likeLiteral(filter.search)}%`);
    out.push(`(name ILIKE ${pattern} OR hostname ILIKE ${pattern})`);
  }
  if (filter.monitoringEnabled !== undefined) out.push(`monitoring_enabled = ${param(filter.monitoringEnabled)}`);
  return out;
}

const whereOf = (parts: string[]): string => (parts.length ? `WHERE ${parts.join(' AND ')}` : '');

/** One page of the devices matching `filter`, ordered by name (descending when `page.descending`). */
export async function devicePage(pool: pg.Pool, filter: DeviceFilter, page: DevicePage): Promise<Device[]> {
  const values: unknown[] = [];
  const parts = conditions(filter, values);
  if (page.after !== undefined) parts.push(`name > $${values.push(page.after)}`);
  if (page.before !== undefined) parts.push(`name < $${values.push(page.before)}`);
  return select(pool, `SELECT * FROM devices ${whereOf(parts)} ORDER BY name ${page.descending ? 'DESC' : 'ASC'} LIMIT $${values.push(page.limit)}`, values);
}

/** How many devices match `filter`, over all pages. */
export async function deviceCount(pool: pg.Pool, filter: DeviceFilter): Promise<number> {
  const values: unknown[] = [];
  const { rows } = await pool.query<{ n: number }>({ text: `SELECT count(*)::int AS n FROM devices ${whereOf(conditions(filter, values))}`, values });
  return rows[0]!.n;
}

/** The devices with these ids, in the order of `ids` (an id with no device is left out). */
export async function deviceRows(pool: pg.Pool, ids: readonly string[]): Promise<Device[]> {
  if (ids.length === 0) return [];
  const rows = await select(pool, BY_IDS, [[...new Set(ids)]]);
  const byId = new Map<string, Device>();
  for (const row of rows) byId.set(row.id, row);
  const out: Device[] = [];
  for (const id of ids) {
    const row = byId.get(id);
    if (row) out.push(row);
  }
  return out;
}
