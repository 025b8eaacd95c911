/**
 * The process `infrapulse bench` starts (src/cli.ts spawns it through tsx): src/ never imports
 * bench/, so the suite's own entry lives here. Arguments are runBench's (see run.ts).
 */
import { compiledIsFresh } from '../bin/fresh.js';
import { BENCH_DIST, buildBench, buildServer } from '../scripts/build.ts';
import { useCompiledChildren } from './child.ts';
import { runBench } from './run.ts';

// What is measured runs compiled, as `npm start` runs it: dist/ (rebuilt after an edit) and the
// bench's own child modules (about 1 s).
if (!compiledIsFresh()) process.stderr.write(`bench: src/ changed since the last build: compiled into dist/ in ${(await buildServer()).ms.toFixed(0)} ms\n`);
await buildBench();
useCompiledChildren(BENCH_DIST);
process.exitCode = await runBench(process.argv.slice(2));
