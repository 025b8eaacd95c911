/** The benchmark through its entry at tiny sizes: parse and ingest (JSON shape and positive figures), and the scale part's CPU split and warm-up; no timing assertions. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, inject, test } from 'vitest';
import { runBench, table, type BenchReport } from '../../bench/run.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-bench-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const isStat = (s: unknown) =>
  expect(s).toEqual({ median: expect.any(Number), min: expect.any(Number), max: expect.any(Number), runs: expect.any(Number) });

function positiveStat(s: { median: number; min: number; max: number; runs: number }): void {
  isStat(s);
  expect(s.min).toBeGreaterThan(0);
  expect(s.min).toBeLessThanOrEqual(s.median);
  expect(s.median).toBeLessThanOrEqual(s.max);
  expect(s.runs).toBeGreaterThanOrEqual(3);
}

/** `parts` at the tiny size through runBench, which must succeed: its report as written and its progress lines. */
async function runTiny(parts: string): Promise<{ report: BenchReport; lines: string[] }> {
  const out = path.join(dir, `${parts.replace(/,/g, '-')}.json`);
  const lines: string[] = [];
  const code = await runBench(['--only', parts, '--out', out], { databaseUrl: inject('adminDatabaseUrl'), size: 'tiny', progress: (l) => lines.push(l) });
  expect(code).toBe(0);
  return { report: JSON.parse(fs.readFileSync(out, 'utf8')) as BenchReport, lines };
}

test('parse and ingest write a report of positive medians with min and max', { timeout: 120_000 }, async () => {
  const { report, lines } = await runTiny('parse,ingest');
  expect(report.version).toBe(1);
  expect(report.size).toBe('tiny');
  expect(report.machine.nproc).toBeGreaterThan(0);
  expect(report.notes).toEqual([]);
  positiveStat(report.parse!.systemPollParseUs);
  expect(report.ingest!.rows).toBe(300);
  positiveStat(report.ingest!.storageRowsPerSec);
  positiveStat(report.ingest!.copyRowsPerSec);
  positiveStat(report.ingest!.plainPgRowsPerSec);
  positiveStat(report.ingest!.ratio);
  positiveStat(report.ingest!.unnestPrismaRowsPerSec);
  positiveStat(report.ingest!.unnestRatio);
  expect(report).not.toHaveProperty('fanout');
  expect(lines.some((l) => l.startsWith('ingest:'))).toBe(true);
  expect(table(report)).toMatch(/ratio storage ÷ COPY/);
});

test('the scale part splits each poll\'s CPU between the JavaScript thread and the helper threads, after a warm-up it reports apart', { timeout: 180_000 }, async () => {
  const { report, lines } = await runTiny('scale');
  expect(report.scale!.map((p) => p.devices)).toEqual([5, 20]);
  for (const p of report.scale!) {
    positiveStat(p.cpuMsPerPoll);
    expect(p.warmUpSec).toBe(2);
    expect(p.warmUpCpuMsPerPoll).toBeGreaterThan(0);
    // Linux says what each thread ran: the helpers' share is what the JavaScript thread did not run.
    const helper = p.helperThreadsCpuMsPerPoll!;
    isStat(helper);
    expect(helper.min).toBeGreaterThanOrEqual(0);
    expect(helper.median).toBeLessThan(p.cpuMsPerPoll.median);
  }
  expect(lines.some((l) => /ms CPU\/poll over the 2 s of warm-up/.test(l))).toBe(true);
  expect(lines.some((l) => /off the JS thread/.test(l))).toBe(true);
});
