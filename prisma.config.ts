// Prisma CLI configuration: the JS schema engine over @prisma/adapter-pg, so neither
// `prisma generate` nor `prisma migrate deploy` downloads an engine binary.
import { defineConfig } from 'prisma/config';
import { createAdapter, createPool } from './src/db/adapter.ts';

const databaseUrl = process.env.DATABASE_URL;
// The schema's datasource names env("DATABASE_URL"); without a value Prisma cannot read the
// schema and falls back to downloading engines. `generate` never connects, so any URL does.
process.env.DATABASE_URL ??= 'postgresql://generate-only@localhost/unused';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  async adapter() {
    if (!databaseUrl) throw new Error('DATABASE_URL is not set: migrations need a database to run against');
    // allowExitOnIdle: the CLI never closes the pool, and idle clients would hold it open for 10 s.
    return createAdapter(createPool(databaseUrl, { max: 2, allowExitOnIdle: true }));
  },
});
