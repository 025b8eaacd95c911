/**
 * V8 settings the process sets on itself, first thing at start: src/cli.ts imports this module
 * before any other. NODE_OPTIONS refuses the flag below, and `npm start` and `npx infrapulse`
 * leave no place for command-line ones.
 *
 * `--no-allocation-site-pretenuring`. V8 watches what survives each scavenge per allocation
 * site, and a site whose objects all survive gets its later objects allocated straight into the
 * old generation, a decision it does not revisit. During the poller's connection burst every
 * poll's output, parses and rows live for seconds (handshakes, writes queued behind them), so V8
 * tenured the sites that build them (14 at 1,000 devices, `--trace-pretenuring`). Afterwards
 * objects that live a few hundred milliseconds were born old and waited for a full collection.
 * Off, a poller at 3,000 and 10,000 devices spends about 20 % less CPU per device-poll and the
 * 10,000-device one holds 0.84–1.24 GB instead of 1.38–1.56, after a higher first minute
 * (docs/benchmarks.md, "Objects born old, switched off").
 *
 * `--heap-growing-percent=30`, from 44 MB of live heap on. After each full collection V8 lets the
 * old generation grow to live size × a factor it picks from how fast it collects against how fast
 * the program allocates: up to 4.0 (`--trace-gc-verbose`), and a 1,000-device poller committed
 * 231 MB for 76 MB live. 1.3, V8's own conservative factor, collects more often: 1,000 devices
 * polled with 1,000 subscribers measured 270–280 MB instead of 320–332, 10,000 devices every 60 s
 * 833–1,040 MB instead of 747–1,761. It costs CPU, mostly on V8's helper threads: none the bench
 * could tell apart at 1,000 devices, 24 % per device-poll at 10,000 (docs/benchmarks.md, "Free
 * tops, and an old generation held to 1.3× its live size").
 *
 * Below 44 MB live V8 picks. 1.3× of an API server's 27–40 MB is a few MB of headroom: under the
 * query bench's load that was a full collection every three or four requests (15 in 190, against
 * 4 with V8's own factor), each a pause of 2–9 ms and marking steps of up to 12 ms inside a request,
 * and `metricHistory` p99 went from 15–18 ms to 28–34. The threshold is low enough that a poller's
 * heap passes it early in its connection burst: with 64 MB, one run of the memory part (1,000
 * devices and 1,000 subscribers) read 311 MB (279–316), against 253 and 274 MB with 48 and 255 and
 * 293 MB with 1.3× throughout (docs/benchmarks.md, "A query tail that came back"). The live size
 * is read after every full collection; the setting applies from the next one. The threshold was
 * 48 MB until Prisma's query compiler stopped costing every process 5 MB of heap (src/db/client.ts):
 * the query bench's API server now keeps 35–38 MB after a full collection and the 1,000-device
 * poller 54–59 MB, and one full bench run's poller, whose collections read below 48, held 300–327
 * MB under V8's own factor against 206–214 MB in the runs before and after it.
 *
 * `--compact-on-every-full-gc` for the next full collection, while the old generation's pages hold
 * at least 64 MB, and half as much as their objects, of free space. A full collection frees the
 * dead objects in place and moves the live ones off only a few of the pages they are scattered
 * over, so the pages a peak filled stay. A 10,000-device poller peaks at about 600 MB of objects in
 * its connection burst; afterwards V8 kept 750–820 MB of pages for 330–510 MB of objects, for
 * minutes, and the process held 955–994 MB. With this, one compacting collection after the burst
 * took the pages to the objects' size and the process held 634–654 MB, at the same CPU per
 * device-poll and slot lateness; the fan-out server's figures did not move (alternated runs), and
 * compacting on every full collection regardless moved them the wrong way (docs/benchmarks.md,
 * "Pages a peak leaves behind").
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

v8.setFlagsFromString('--no-allocation-site-pretenuring');

/** Live heap from which the old generation is held to 1.3× (`--heap-growing-percent=30`); below it V8 picks. */
const HOLD_FROM_BYTES = 44 * 2 ** 20;

/** A V8 setting switched between two values, set only when it changes (it starts off). */
function toggle(on: string, off: string): (value: boolean) => void {
  let current = false;
  return (value) => {
    if (value === current) return;
    current = value;
    v8.setFlagsFromString(value ? on : off);
  };
}

/** 0 is V8's default: a factor of its own choosing. */
const hold = toggle('--heap-growing-percent=30', '--heap-growing-percent=0');

/** Free space inside the old generation's pages from which the next full collection compacts them all. */
const COMPACT_FROM_FREE_BYTES = 64 * 2 ** 20;

const compactNext = toggle('--compact-on-every-full-gc', '--no-compact-on-every-full-gc');

/** Pages a peak left behind: more free space inside old pages than the threshold and than half the objects on them. */
function fragmented(): boolean {
  const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
  if (old === undefined) return false;
  const free = old.physical_space_size - old.space_used_size;
  return free >= COMPACT_FROM_FREE_BYTES && free * 2 >= old.space_used_size;
}

// Not kept alive by the observer: a command that is done still exits.
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if ((e as PerformanceEntry & { detail?: { kind: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
    hold(v8.getHeapStatistics().used_heap_size >= HOLD_FROM_BYTES);
    compactNext(fragmented());
  }
}).observe({ entryTypes: ['gc'] });

/**
 * `--optimize-for-size` while a server starts: loading its modules, building the schema and
 * checking migrations allocate tens of MB that mostly survive, and V8 grows its young generation
 * to the maximum for them (32 MB committed). An idle server has no collection after that, so V8's
 * memory reducer waited for its watchdog, 30 s after the last one, before giving those pages back:
 * 131 MB 15 s after start, 94 MB from about 30 s on. Optimised for size, V8 keeps the young
 * generation small through the start-up: 93–94 MB at 15 s (docs/benchmarks.md, "The idle
 * server"). Switched off once started, so a loaded server runs with V8's defaults.
 */
export async function startingSmall<T>(start: () => Promise<T>): Promise<T> {
  v8.setFlagsFromString('--optimize-for-size');
  try {
    return await start();
  } finally {
    v8.setFlagsFromString('--no-optimize-for-size');
  }
}
