/**
 * A really full disk: a tmpfs of a few KiB mounted for a test (needs root, as CI runs).
 * Where mounting is not allowed (an ordinary user) `mountSmallFilesystem` returns null and
 * the caller says so; under CI=true that is a failure, as for the shared fixture corpus.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface SmallFilesystem {
  dir: string;
  unmount(): void;
}

export function mountSmallFilesystem(dir: string, bytes: number): SmallFilesystem | null {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    if (process.env.CI === 'true') throw new Error(`cannot mount a ${bytes}-byte tmpfs at ${dir} (the full-disk tests need root): ${(e as Error).message}`);
    return null;
  }
  return {
    dir,
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    },
  };
}

export const canMount = (): boolean => process.getuid?.() === 0 || process.env.CI === 'true';
