/**
 * Device rows read on the pg pool. Through Prisma, the 500 rows of `devices(first: 500)` cost
 * Prisma's per-row result mapping (an Object.entries and a tagged-value pass per row, about
 * 9 KB of garbage per row): a scavenge per request and a fifth of a busy API's CPU
 * (docs/benchmarks.md, *Queries*). Filters, order and pages stay Prisma's (it picks the ids);
 * the rows come from here.
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

/** The devices with these ids, in the order of `ids` (an id with no device is left out). */
export async function deviceRows(pool: pg.Pool, ids: readonly string[]): Promise<Device[]> {
  if (ids.length === 0) return [];
  const rows = toRows<Device>(await pool.query<unknown[]>({ text: BY_IDS, values: [[...new Set(ids)]], types, rowMode: 'array' }));
  const byId = new Map<string, Device>();
  for (const row of rows) byId.set(row.id, row);
  const out: Device[] = [];
  for (const id of ids) {
    const row = byId.get(id);
    if (row) out.push(row);
  }
  return out;
}
