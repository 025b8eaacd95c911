/**
 * Rows stored after a resume cursor, in ingest order: the replay half of a resumed
 * subscription (src/server/resume.ts). The cursor is a row's ingest sequence number (the
 * `seq` column, one sequence for every table), so "after" means "inserted later", across
 * devices, whatever the rows' sample times.
 */
import type { PrismaClient } from '../db/generated/client.ts';
import { toRow } from './latest.ts';
import { TABLES, type TableSpec } from './tables.ts';
import type { SampleBatch } from './types.ts';

export type SampleKind = keyof SampleBatch;
export type Sequenced<K extends SampleKind> = SampleBatch[K][number] & { seq: number };

const SQL = Object.fromEntries(
  Object.entries(TABLES).map(([kind, spec]) => {
    const cols = (spec as TableSpec<unknown>).columns.map((c) => c.name).join(', ');
    return [kind, `SELECT seq, ${cols} FROM ${spec.table} WHERE seq > $1 AND ($2::text[] IS NULL OR device_id = ANY($2::text[])) ORDER BY seq LIMIT $3`];
  }),
) as Record<SampleKind, string>;

/** Up to `limit` rows of `kind` inserted after `afterSeq`, for the given devices (null: every device), oldest first. */
export async function rowsAfter<K extends SampleKind>(prisma: PrismaClient, kind: K, afterSeq: number, deviceIds: readonly string[] | null, limit: number): Promise<Sequenced<K>[]> {
  const raw = await prisma.$queryRawUnsafe<Record<string, unknown>[]>(SQL[kind], afterSeq, deviceIds ? [...deviceIds] : null, limit);
  return raw.map((r) => toRow<Sequenced<K>>(r));
}
