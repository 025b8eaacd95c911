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
 * With the server it compiles native/malloc-trim.c (memory trimming, src/memory-trim.ts) with the
 * system's C compiler against Node's own headers; where that cannot be done (no compiler, no
 * headers, no glibc) it says so and the server runs without trimming.
 *
 *   tsx scripts/build.ts            build all three (npm ci's prepare)
 *   tsx scripts/build.ts server     the server and the native module (npm run build)
 *   tsx scripts/build.ts web        the dashboard only (npm run build:web)
 *
 * The benchmark suite compiles its own modules with `buildBench` (bench/ → dist-bench/, importing
 * dist/), so the servers and pollers it measures run as `npm start` runs them, without tsx.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildDashboard } from '../src/dashboard/build.ts';
import { NATIVE_TRIM } from '../src/memory-trim.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');
export const SERVER_DIST = path.join(ROOT, 'dist');
const BENCH = path.join(ROOT, 'bench');
/** Beside bench/ (same depth), so `../bin/…` and paths a bench module takes from its own location still resolve. */
export const BENCH_DIST = path.join(ROOT, 'dist-bench');
/** bin/fresh.js: dist/ is used while this file is newer than every source. */
const STAMP = '.build.json';

/**
 * Relative imports stay imports of the sibling module, renamed from .ts to .js; packages stay
 * packages. `rename` maps a specifier further (the bench's `../src/x.ts` → `../dist/x.js`).
 */
const keepModules = (rename: (specifier: string) => string = (s) => s): esbuild.Plugin => ({
  name: 'keep-modules',
  setup(build) {
    build.onResolve({ filter: /^\./ }, (a) => (a.kind === 'entry-point' ? undefined : { path: rename(a.path).replace(/\.tsx?$/, '.js'), external: true }));
  },
});

/** One .js module per .ts file of `from`, into a fresh directory swapped in for `to`, so a starting process never reads half a build. */
async function compileTree(from: string, to: string, plugin: esbuild.Plugin, { stamp = false } = {}): Promise<number> {
  const entryPoints = fs.readdirSync(from, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f)).map((f) => path.join(from, f));
  const tmp = `${to}.${process.pid}.${Date.now()}`;
  await esbuild.build({
    entryPoints,
    outdir: tmp,
    outbase: from,
    bundle: true, // with every import external (plugin and `packages`): resolves specifiers, bundles nothing
    packages: 'external',
    plugins: [plugin],
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  if (stamp) fs.writeFileSync(path.join(tmp, STAMP), `${JSON.stringify({ builtAt: new Date().toISOString(), files: entryPoints.length })}\n`);
  const old = `${to}.old.${process.pid}.${Date.now()}`;
  if (fs.existsSync(to)) fs.renameSync(to, old);
  fs.renameSync(tmp, to);
  fs.rmSync(old, { recursive: true, force: true });
  return entryPoints.length;
}

export async function buildServer(): Promise<{ files: number; ms: number }> {
  const started = performance.now();
  const files = await compileTree(SRC, SERVER_DIST, keepModules(), { stamp: true });
  return { files, ms: performance.now() - started };
}

/** Node's C headers: npm's nodedir when set, else the include/ beside the running node binary. */
function nodeHeaders(): string | undefined {
  const dirs = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].filter((d): d is string => !!d);
  return dirs.map((d) => path.join(d, 'include', 'node')).find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

/** native/malloc-trim.c → NATIVE_TRIM (a Node-API module, so any Node version loads it). Returns why not when it cannot. */
export function buildNative(): { ms: number } | { skipped: string } {
  const started = performance.now();
  const headers = nodeHeaders();
  if (!headers) return { skipped: "Node's C headers (node_api.h) were not found; set npm_config_nodedir to the directory holding include/node" };
  const tmp = `${NATIVE_TRIM}.${process.pid}`;
  fs.mkdirSync(path.dirname(NATIVE_TRIM), { recursive: true });
  try {
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-shared', '-fPIC', '-fvisibility=hidden', `-I${headers}`, path.join(ROOT, 'native', 'malloc-trim.c'), '-o', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    return { skipped: err.code === 'ENOENT' ? `no C compiler (${process.env.CC ?? 'cc'})` : (err.stderr?.toString().trim().split('\n').find((l) => /error/.test(l)) ?? String(e)) };
  }
  fs.renameSync(tmp, NATIVE_TRIM);
  return { ms: performance.now() - started };
}

/** bench/ → dist-bench/, its imports of src/ pointed at dist/ (which must be fresh: see bench/main.ts). */
export async function buildBench(): Promise<{ files: number; ms: number }> {
  const started = performance.now();
  const files = await compileTree(BENCH, BENCH_DIST, keepModules((s) => s.replace(/^\.\.\/src\//, '../dist/')));
  return { files, ms: performance.now() - started };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const only = process.argv[2];
  try {
    if (only !== 'web') {
      const server = await buildServer();
      process.stdout.write(`server compiled into dist (${server.files} modules) in ${server.ms.toFixed(0)} ms\n`);
      const native = buildNative();
      if ('skipped' in native) process.stderr.write(`infrapulse: memory trimming not built, the server will run without it: ${native.skipped}\n`);
      else process.stdout.write(`memory trimming compiled into ${path.relative(ROOT, NATIVE_TRIM)} in ${native.ms.toFixed(0)} ms\n`);
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
