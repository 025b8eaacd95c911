/**
 * The write path before COPY-into-staging (until 2026-12-02): one INSERT … SELECT FROM UNNEST
 * per table and 5,000-row chunk, one array-literal parameter per column, through Prisma's
 * $queryRawUnsafe in a batch transaction. Kept here so the ingest benchmarks measure the old
 * and the new path side by side in one run.
 */
import type { PrismaClient } from '../src/db/generated/client.ts';
import type { Column, TableSpec } from '../src/storage/tables.ts';

export const UNNEST_CHUNK = 5000;

type Kind = Column<never>['kind'];

const PARAM_TYPE: Record<Kind, string> = {
  time: 'float8[]', // epoch milliseconds
  text: 'text[]',
  float8: 'float8[]',
  int4: 'int4[]',
  int8: 'int8[]',
  bool: 'bool[]',
  'real[]': 'text[]', // arrays of arrays do not UNNEST row by row: each travels as its literal
  jsonb: 'text[]',
};

const select = (c: Column<never>, i: number): string => {
  if (c.kind === 'time') return `to_timestamp(c${i} / 1000.0)`;
  return c.kind === 'real[]' || c.kind === 'jsonb' ? `c${i}::${c.kind}` : `c${i}`;
};

export function unnestSql<Row>(spec: TableSpec<Row>): string {
  const cols = spec.columns as Column<never>[];
  const names = cols.map((c) => c.name).join(', ');
  const params = cols.map((c, i) => `$${i + 1}::${PARAM_TYPE[c.kind]}`).join(', ');
  const aliases = cols.map((_, i) => `c${i}`).join(', ');
  return (
    `WITH ins AS (INSERT INTO ${spec.table} (${names}) SELECT ${cols.map(select).join(', ')} FROM UNNEST(${params}) AS u(${aliases}) ON CONFLICT DO NOTHING RETURNING device_id, time, seq) ` +
    'SELECT device_id, round(extract(epoch FROM time) * 1000)::float8 AS ms, max(seq)::float8 AS seq, count(*)::int AS n FROM ins GROUP BY device_id, time'
  );
}

/** One PostgreSQL array literal: NULL, numbers and booleans bare, anything else double-quoted with \ and " escaped. */
export function arrayLiteral(values: readonly unknown[]): string {
  let s = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) s += ',';
    const v = values[i];
    if (v === null || v === undefined) s += 'NULL';
    else if (typeof v === 'number' || typeof v === 'boolean') s += String(v);
    else s += `"${String(v).replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${s}}`;
}

export function columnArrays<Row>(spec: TableSpec<Row>, rows: readonly Row[]): unknown[][] {
  return spec.columns.map((c) => {
    const values = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const v = c.get(rows[i] as Row);
      // Times travelled as epoch milliseconds, real[] values as their literal.
      values[i] = v instanceof Date ? v.getTime() : Array.isArray(v) ? `{${v.join(',')}}` : v;
    }
    return values;
  });
}

/** The old writeBatch for one table's rows: returns the rows inserted. */
export async function unnestThroughPrisma<Row>(prisma: PrismaClient, spec: TableSpec<Row>, rows: readonly Row[]): Promise<number> {
  const sql = unnestSql(spec);
  const statements = [];
  for (let i = 0; i < rows.length; i += UNNEST_CHUNK) {
    statements.push(prisma.$queryRawUnsafe<{ n: number }[]>(sql, ...columnArrays(spec, rows.slice(i, i + UNNEST_CHUNK)).map(arrayLiteral)));
  }
  const answers = await prisma.$transaction(statements);
  return answers.flat().reduce((n, g) => n + g.n, 0);
}
