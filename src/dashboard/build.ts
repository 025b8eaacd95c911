/**
 * Builds the dashboard (web/) into web/dist with esbuild: one ES module and one stylesheet
 * with content hashes in their names, and index.html pointing at them. Runs in `npm ci`
 * (the `prepare` script, scripts/build.ts) and, when the output is missing or older than the
 * sources, at server start; the output is never committed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestMtime } from '../../bin/fresh.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB_DIR = path.join(ROOT, 'web');
export const DIST_DIR = path.join(WEB_DIR, 'dist');
const STAMP = '.build.json';

export interface BuildResult {
  outDir: string;
  /** Bytes per emitted file, relative to outDir. */
  files: Record<string, number>;
  ms: number;
}

/** Newest modification time of the sources the bundle is made from (web/ minus its output). */
const newestSource = (dir: string): number => newestMtime(dir, (full) => full === DIST_DIR || path.basename(full).startsWith('dist.'));

/** True when web/dist holds a build at least as new as every source file. */
export function isBuildFresh(webDir = WEB_DIR, outDir = DIST_DIR): boolean {
  const stamp = path.join(outDir, STAMP);
  if (!fs.existsSync(stamp) || !fs.existsSync(path.join(outDir, 'index.html'))) return false;
  if (!fs.existsSync(path.join(webDir, 'src'))) return true; // an image with the output and no sources
  return fs.statSync(stamp).mtimeMs >= newestSource(webDir);
}

/**
 * Bundles into a fresh directory beside the output, then swaps it in, so a server reading
 * the old output never sees half a build.
 */
export async function buildDashboard(options: { webDir?: string; outDir?: string; minify?: boolean } = {}): Promise<BuildResult> {
  const started = performance.now();
  const webDir = options.webDir ?? WEB_DIR;
  const outDir = options.outDir ?? DIST_DIR;
  const tmp = `${outDir}.${process.pid}.${Date.now()}`;
  // Imported here: the server only needs esbuild when it has to build.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: webDir,
    entryPoints: { app: path.join(webDir, 'src/main.tsx') },
    bundle: true,
    format: 'esm',
    target: ['chrome111', 'firefox115', 'safari16.4'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: tmp,
    // Pages other than the overview load on first use (web/src/app.tsx lazyPage).
    splitting: true,
    entryNames: 'assets/[name]-[hash]',
    chunkNames: 'assets/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    loader: { '.svg': 'file' },
    metafile: true,
    legalComments: 'eof',
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((o) => path.relative(tmp, path.resolve(webDir, o)));
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint !== undefined);
  const js = entry ? path.relative(tmp, path.resolve(webDir, entry[0])) : undefined;
  const css = entry?.[1].cssBundle ? path.relative(tmp, path.resolve(webDir, entry[1].cssBundle)) : undefined;
  if (!js || !css) throw new Error(`the dashboard build emitted no ${js ? 'stylesheet' : 'script'}`);
  // The entry's static imports are fetched with it rather than after it is parsed.
  const preloads = (entry?.[1].imports ?? []).filter((i) => i.kind === 'import-statement').map((i) => `<link rel="modulepreload" href="/${path.relative(tmp, path.resolve(webDir, i.path))}">`);
  const template = fs.readFileSync(path.join(webDir, 'index.html'), 'utf8');
  const html = template
    .replace('<!--app-css-->', `<link rel="stylesheet" href="/${css}">`)
    .replace('<!--app-js-->', [`<script type="module" src="/${js}"></script>`, ...preloads].join('\n'));
  fs.writeFileSync(path.join(tmp, 'index.html'), html);
  fs.copyFileSync(path.join(webDir, 'favicon.svg'), path.join(tmp, 'favicon.svg'));

  const files: Record<string, number> = {};
  for (const f of [...outputs, 'index.html', 'favicon.svg']) files[f] = fs.statSync(path.join(tmp, f)).size;
  fs.writeFileSync(path.join(tmp, STAMP), JSON.stringify({ builtAt: new Date().toISOString(), files }, null, 2) + '\n');

  const old = `${outDir}.old.${process.pid}.${Date.now()}`;
  if (fs.existsSync(outDir)) fs.renameSync(outDir, old);
  fs.renameSync(tmp, outDir);
  fs.rmSync(old, { recursive: true, force: true });
  return { outDir, files, ms: performance.now() - started };
}

/** Builds unless the output is fresh; returns whether it built. */
export async function ensureDashboardBuilt(): Promise<boolean> {
  if (isBuildFresh()) return false;
  await buildDashboard();
  return true;
}
