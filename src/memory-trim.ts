/**
 * Memory trimming: every MEMORY_TRIM_INTERVAL_SECONDS the process hands the free pages inside
 * glibc's malloc arenas back to the kernel (malloc_trim(0), native/malloc-trim.c, compiled by npm
 * ci's prepare step). free() alone returns only the top of each arena; the holes that bursts of
 * native allocations leave (a poller's SSH connection burst, socket read buffers, OpenSSL state)
 * stayed resident: 75 MB of a 3,000-device poller's 446 MB, 20 MB of an idle server's 136 MB
 * (docs/benchmarks.md, "Memory malloc keeps"). Where the module could not be built (no compiler,
 * no glibc) the server runs as before and says so once.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from './log.ts';

/** Beside src/ and dist/ alike; scripts/build.ts compiles it there. */
export const NATIVE_TRIM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build', 'malloc-trim.node');

/**
 * glibc's own starting trim threshold, fixed. Left dynamic, glibc raises it to twice the largest
 * mmapped block freed so far (a server's start-up frees 3-4 MB ones: 7 MB), and free() then keeps
 * that much free memory at the top of every arena, where malloc_trim(0) never reaches in a thread
 * arena: an idle server held 107-119 MB instead of 98-99 (docs/benchmarks.md, "Free tops, and an
 * old generation held to 1.3× its live size"). Fixing it also stops glibc raising its mmap
 * threshold from then on.
 */
const TRIM_THRESHOLD_BYTES = 128 * 1024;

/** Returns whether any memory went back to the kernel. */
export type Trim = () => boolean;
/** native/malloc-trim.c: malloc_trim(0), and mallopt(M_TRIM_THRESHOLD, bytes) (true when glibc took it). */
type Native = { trim: Trim; setTrimThreshold(bytes: number): boolean };

export function loadTrim(): Native | { unavailable: string } {
  try {
    return createRequire(import.meta.url)(NATIVE_TRIM) as Native;
  } catch (e) {
    return { unavailable: (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? `${NATIVE_TRIM} was not built (npm run build says why)` : (e as Error).message };
  }
}

/** Fixes glibc's trim threshold and trims every `intervalSec` (0: neither) until the returned stop is called. */
export function startMemoryTrim(intervalSec: number, log: Logger): () => void {
  if (intervalSec <= 0) return () => {};
  const native = loadTrim();
  if ('unavailable' in native) {
    log.info({ reason: native.unavailable }, 'memory trimming unavailable: memory freed inside malloc arenas stays resident');
    return () => {};
  }
  native.setTrimThreshold(TRIM_THRESHOLD_BYTES);
  const timer = setInterval(() => {
    const before = process.memoryUsage.rss();
    const started = performance.now();
    native.trim();
    log.debug({ releasedMB: Math.round((before - process.memoryUsage.rss()) / 1e5) / 10, ms: Math.round((performance.now() - started) * 100) / 100 }, 'memory trimmed');
  }, intervalSec * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
