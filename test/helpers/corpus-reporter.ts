// Says at the end of every run how many tests against the shared corpus (../shared/fixtures)
// ran and how many were skipped, so a run without the corpus can never pass for a full one.
import type { Reporter, TestModule } from 'vitest/node';
import { CORPUS_TAG, corpusAvailable, corpusDir, corpusRequired } from './fixtures.ts';

export function corpusSummary(
  counts: { ran: number; failed: number; skipped: number },
  where = { dir: corpusDir, available: corpusAvailable, required: corpusRequired },
): string | null {
  const { ran, failed, skipped } = counts;
  if (ran + skipped === 0) return null;
  let line = `corpus (${where.dir}): ${ran} cases ran${failed > 0 ? ` (${failed} failed)` : ''}, ${skipped} skipped`;
  if (!where.available) {
    line += where.required
      ? ': the corpus is missing and CI=true requires it'
      : ': the corpus is not there (the repository\'s own fixtures still ran; CI=true makes this a failure)';
  }
  return line;
}

export default class CorpusReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { ran: 0, failed: 0, skipped: 0 };
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        if (!t.tags.includes(CORPUS_TAG)) continue;
        const state = t.result().state;
        if (state === 'skipped') counts.skipped++;
        else if (state !== 'pending') {
          counts.ran++;
          if (state === 'failed') counts.failed++;
        }
      }
    }
    const line = corpusSummary(counts);
    if (line !== null) process.stdout.write(`\n ${line}\n`);
  }
}
