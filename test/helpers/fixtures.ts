// Two kinds of parser fixtures:
// - the repository's own (test/fixtures/): captured on a real machine with the command that made
//   them, or written from a documented format and saying so. They make `npm test` pass in a plain
//   clone; golden cases live in test/fixtures/cases/<kind>/<case>/ (see its README).
// - the shared corpus (../shared/fixtures/, beside the repository, never copied into it): real
//   outputs from public projects, with PROVENANCE.md. Tests that read it are declared with
//   corpusIt: they run wherever the corpus is, are skipped (and counted by
//   test/helpers/corpus-reporter.ts) where it is not, and fail under CI=true without it.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';

// CI clones the repository into a folder with shared/ next to it: resolve from the repo's parent.
export const corpusDir = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
export const corpusAvailable = existsSync(corpusDir);
const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));
const capturedDir = `${fixturesDir}captured/`;
export const casesDir = `${fixturesDir}cases/`;

/** The tag the corpus reporter counts; declared in vitest.config.ts. */
export const CORPUS_TAG = 'corpus';

/** CI must exercise the corpus: there a missing one fails instead of being skipped. */
export const corpusRequired = process.env.CI === 'true';

/**
 * A test that reads the shared corpus. Never silently off: it runs where the corpus is, fails
 * under CI=true where it is not, and is otherwise reported as skipped with the count.
 */
export function corpusIt(name: string, fn: () => void | Promise<void>): void {
  it.skipIf(corpusMode(corpusAvailable, corpusRequired) === 'skip')(name, { tags: [CORPUS_TAG] }, fn);
}

/** Run where the corpus is; where it is not, skip, except under CI, where the test runs and fails. */
export function corpusMode(available: boolean, required: boolean): 'run' | 'skip' {
  return available || required ? 'run' : 'skip';
}

/** Text of a corpus file (e.g. 'proc/stat-8cpu-node_exporter'); only inside corpusIt. */
export function fixture(relPath: string): string {
  return readFileSync(fixturePath(relPath), 'utf8');
}

export function fixturePath(relPath: string): string {
  if (!corpusAvailable) {
    throw new Error(
      `shared fixtures not found at ${corpusDir}: check out the shared/ folder beside the repository` +
        (corpusRequired ? ' (CI=true requires it)' : ''),
    );
  }
  return corpusDir + relPath;
}

/** Text of a multi-command poll output captured on a real machine, under test/fixtures/captured/. */
export function captured(name: string): string {
  return readFileSync(capturedDir + name, 'utf8');
}

export function capturedPath(name: string): string {
  return capturedDir + name;
}

/** The input of a golden case (test/fixtures/cases/<kind>/<case>/input). */
export function caseInputPath(kind: string, name: string): string {
  return `${casesDir}${kind}/${name}/input`;
}

export function caseInput(kind: string, name: string): string {
  return readFileSync(caseInputPath(kind, name), 'utf8');
}
