#!/usr/bin/env node
// Runs the compiled server (dist/, built by `npm ci`'s prepare step: scripts/build.ts) while
// that build is newer than every file in src/; otherwise the sources through tsx, so an edit
// takes effect without a build step and `npx infrapulse …` works in any checkout.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, compiledIsFresh } from './fresh.js';

if (compiledIsFresh() || !fs.existsSync(path.join(ROOT, 'src'))) {
  await import('../dist/cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
