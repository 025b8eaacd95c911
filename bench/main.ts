/**
 * The process `infrapulse bench` starts (src/cli.ts spawns it through tsx): src/ never imports
 * bench/, so the suite's own entry lives here. Arguments are runBench's (see run.ts).
 */
import { runBench } from './run.ts';

process.exitCode = await runBench(process.argv.slice(2));
