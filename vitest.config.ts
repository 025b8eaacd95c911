import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql ships CJS (main) and ESM (module). Node, and so Yoga at run time, loads the CJS
    // one; Vite would load the ESM one for our code, and two graphql instances break
    // `instanceof GraphQLError` (every expected error would be masked). Load one copy.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    // Parser tests that read the shared corpus (../shared/fixtures) carry this tag; the
    // reporter says how many ran or were skipped (test/helpers/fixtures.ts).
    tags: [{ name: 'corpus', description: 'reads the shared fixture corpus beside the repository' }],
    reporters: ['default', './test/helpers/corpus-reporter.ts'],
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/db/generated/**'],
      reporter: ['text-summary', 'json-summary'],
      // The seed's own bar: reached by tests that assert behaviour (89 % of lines when set).
      thresholds: { lines: 80 },
    },
  },
});
