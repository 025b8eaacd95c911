/**
 * V8 settings the process sets on itself, first thing at start: src/cli.ts imports this module
 * before any other. NODE_OPTIONS refuses V8's heap flags, and `npm start` and `npx infrapulse`
 * leave no place for command-line ones.
 *
 * `--no-allocation-site-pretenuring`. V8 watches what survives each scavenge per allocation
 * site, and a site whose objects all survive gets its later objects allocated straight into the
 * old generation, a decision it does not revisit. During the poller's connection burst every
 * poll's output, parses and rows live for seconds (handshakes, writes queued behind them), so V8
 * tenured the sites that build them (14 at 1,000 devices, `--trace-pretenuring`). Afterwards
 * objects that live a few hundred milliseconds were born old and waited for a full collection:
 * 15–20 % more CPU per device-poll for as long as the process ran (docs/benchmarks.md,
 * "Objects born old, switched off").
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--no-allocation-site-pretenuring');
