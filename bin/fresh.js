// Whether dist/ (scripts/build.ts) may run: its stamp is newer than every file in src/.
// Plain JavaScript, since it decides whether TypeScript is needed at all.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time of the files under `dir`, leaving out paths `skip` names (and what is under them). */
export function newestMtime(dir, skip = () => false) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (skip(full)) continue;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full, skip) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** False without a build (npm ci --ignore-scripts, a plain copy) or after any edit in src/. */
export function compiledIsFresh(root = ROOT) {
  try {
    return fs.statSync(path.join(root, 'dist', '.build.json')).mtimeMs >= newestMtime(path.join(root, 'src'));
  } catch {
    return false;
  }
}
