/**
 * `npm ci`'s prepare step: compiles the server (src/ → dist/, one .js module per source file)
 * and builds the dashboard (web/ → web/dist). `npm start` then runs dist/ with plain Node: no
 * TypeScript transform at run time, which held about 75 MB of a server's RSS (docs/benchmarks.md).
 *
 * dist/ mirrors src/ file for file and folder for folder, so paths a module takes from its own
 * location (the repository root, prisma/migrations, web/) resolve the same from either tree.
 * bin/infrapulse.js runs dist/ only while its stamp is newer than every file in src/; after an
 * edit it runs the sources through tsx until the next build.
 *
 *   tsx scripts/build.ts            build both (npm ci's prepare)
 *   tsx scripts/build.ts server     the server only (npm run build)
 *   tsx scripts/build.ts web        the dashboard only (npm run build:web)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildDashboard } from '../src/dashboard/build.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');
export const SERVER_DIST = path.join(ROOT, 'dist');
/** bin/fresh.js: dist/ is used while this file is newer than every source. */
const STAMP = '.build.json';

/** Relative imports stay imports of the sibling module, renamed from .ts to .js; packages stay packages. */
const keepModules: esbuild.Plugin = {
  name: 'keep-modules',
  setup(build) {
    build.onResolve({ filter: /^\./ }, (a) => (a.kind === 'entry-point' ? undefined : { path: a.path.replace(/\.tsx?$/, '.js'), external: true }));
  },
};

/** Compiles into a fresh directory, then swaps it in, so a starting server never reads half a build. */
export async function buildServer(): Promise<{ files: number; ms: number }> {
  const started = performance.now();
  const entryPoints = fs.readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f)).map((f) => path.join(SRC, f));
  const tmp = `${SERVER_DIST}.${process.pid}.${Date.now()}`;
  await esbuild.build({
    entryPoints,
    outdir: tmp,
    outbase: SRC,
    bundle: true, // with every import external (plugin and `packages`): resolves specifiers, bundles nothing
    packages: 'external',
    plugins: [keepModules],
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  fs.writeFileSync(path.join(tmp, STAMP), `${JSON.stringify({ builtAt: new Date().toISOString(), files: entryPoints.length })}\n`);
  const old = `${SERVER_DIST}.old.${process.pid}.${Date.now()}`;
  if (fs.existsSync(SERVER_DIST)) fs.renameSync(SERVER_DIST, old);
  fs.renameSync(tmp, SERVER_DIST);
  fs.rmSync(old, { recursive: true, force: true });
  return { files: entryPoints.length, ms: performance.now() - started };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const only = process.argv[2];
  try {
    if (only !== 'web') {
      const server = await buildServer();
      process.stdout.write(`server compiled into dist (${server.files} modules) in ${server.ms.toFixed(0)} ms\n`);
    }
    if (only !== 'server') {
      const web = await buildDashboard();
      const total = Object.values(web.files).reduce((a, b) => a + b, 0);
      process.stdout.write(`dashboard built into ${path.relative(ROOT, web.outDir)} (${Object.keys(web.files).length} files, ${(total / 1024).toFixed(0)} KiB) in ${web.ms.toFixed(0)} ms\n`);
    }
  } catch (e) {
    process.stderr.write(`infrapulse: the build failed: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
