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
 * `--heap-growing-percent=30`. After each full collection V8 lets the old generation grow to live
 * size × a factor it picks from how fast it collects against how fast the program allocates: up to
 * 4.0 (`--trace-gc-verbose`), and a 1,000-device poller committed 231 MB for 76 MB live. 1.3, V8's
 * own conservative factor, collects more often: 1,000 devices polled with 1,000 subscribers
 * measured 270–280 MB instead of 320–332, 10,000 devices every 60 s 833–1,040 MB instead of
 * 747–1,761. It costs CPU, mostly on V8's helper threads: none the bench could tell apart at 1,000
 * devices, 24 % per device-poll at 10,000 (docs/benchmarks.md, "Free tops, and an old generation
 * held to 1.3× its live size").
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--no-allocation-site-pretenuring');
v8.setFlagsFromString('--heap-growing-percent=30');
