/**
 * parse: one full system poll of a large host (64 CPUs, 50 interfaces, 80 disks) through the
 * collector's parser and row mapping, as the poller runs them, with the previous poll's
 * counter state so every rate is computed.
 */
import { syntheticSystemOutput } from '../src/collectors/synthetic.ts';
import { defaultCollectorOptions } from '../src/collectors/index.ts';
import { parseSystemOutput, systemRows } from '../src/collectors/system.ts';
import { stat, type Stat } from './stats.ts';

export interface ParseResult {
  systemPollParseUs: Stat;
  host: { cpus: number; interfaces: number; disks: number; bytes: number };
}

export function benchParse({ iterations = 2000, runs = 5 }: { iterations?: number; runs?: number } = {}): ParseResult {
  const host = { cpus: 64, interfaces: 50, disks: 80 };
  // Successive polls keep every rate defined (counters grow between them); cycling through 20
  // of them, one poll in 20 looks like a reboot (counters fall), which the tracker handles too.
  const outputs = Array.from({ length: 20 }, (_, poll) => syntheticSystemOutput({ ...host, poll }));
  const options = defaultCollectorOptions;
  const base = Date.UTC(2026, 0, 1);
  let state = systemRows(parseSystemOutput(outputs[0]!), { deviceId: 'bench', time: new Date(base), options }, undefined).state;
  const once = (i: number): void => {
    const sample = parseSystemOutput(outputs[(i + 1) % outputs.length]!);
    // Timestamps advance like the synthetic host's uptime (30 s per poll).
    state = systemRows(sample, { deviceId: 'bench', time: new Date(base + (i + 1) * 30_000), options }, state).state;
  };
  for (let i = 0; i < Math.min(200, iterations); i++) once(i); // warm-up: JIT, inline caches
  const perRun: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) once(i);
    perRun.push(Number(process.hrtime.bigint() - t0) / 1000 / iterations);
  }
  return { systemPollParseUs: stat(perRun), host: { ...host, bytes: outputs[1]!.length } };
}
