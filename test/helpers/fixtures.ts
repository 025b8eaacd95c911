import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Shared fixtures live beside the repository (../shared/fixtures), never inside it: CI clones
// the repo into another folder with shared/ next to it, so resolve from the repo root's parent.
const sharedDir = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
const capturedDir = fileURLToPath(new URL('../fixtures/captured/', import.meta.url));

/** Text of a file under ../shared/fixtures (e.g. 'proc/stat-8cpu-node_exporter'). */
export function fixture(relPath: string): string {
  if (!existsSync(sharedDir)) {
    throw new Error(
      `shared fixtures not found at ${sharedDir}: check out the shared/ folder beside the repository`,
    );
  }
  return readFileSync(sharedDir + relPath, 'utf8');
}

export function fixturePath(relPath: string): string {
  return sharedDir + relPath;
}

/** Text of a file captured on a real machine, committed under test/fixtures/captured/. */
export function captured(name: string): string {
  return readFileSync(capturedDir + name, 'utf8');
}

export function capturedPath(name: string): string {
  return capturedDir + name;
}
