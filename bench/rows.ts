/** Deterministic system_metrics rows for the ingest and query benchmarks. */
import { rng } from '../src/random.ts';
import type { SystemMetricsRow } from '../src/storage/types.ts';

export const benchDeviceId = (i: number): string => `bench-device-${String(i).padStart(4, '0')}`;

/** `count` rows spread over `devices` devices, one sample per device every `stepMs` back from `end`. */
export function systemRowsFor({ count, devices, stepMs = 300_000, end = Date.UTC(2026, 0, 31), seed = 1, cores = 8 }: { count: number; devices: number; stepMs?: number; end?: number; seed?: number; cores?: number }): SystemMetricsRow[] {
  const r = rng(seed);
  const rows = new Array<SystemMetricsRow>(count);
  const pct = () => Math.round(r() * 10000) / 100;
  for (let i = 0; i < count; i++) {
    const device = i % devices;
    const step = Math.floor(i / devices);
    const memTotal = 16 * 2 ** 30;
    const avail = Math.floor(memTotal * (0.2 + r() * 0.6));
    rows[i] = {
      time: new Date(end - step * stepMs),
      deviceId: benchDeviceId(device),
      cpuCount: cores,
      cpuPercent: pct(),
      cpuUserPercent: pct(),
      cpuSystemPercent: pct(),
      cpuIowaitPercent: pct(),
      cpuStealPercent: 0,
      corePercents: Array.from({ length: cores }, pct),
      memTotalBytes: memTotal,
      memAvailableBytes: avail,
      memUsedPercent: Math.round((1 - avail / memTotal) * 10000) / 100,
      swapTotalBytes: 2 ** 31,
      swapFreeBytes: 2 ** 30,
      load1: r() * 4,
      load5: r() * 4,
      load15: r() * 4,
      uptimeSeconds: 86_400 + step * 300,
      processCount: 100 + Math.floor(r() * 300),
      netRxBytesPerSec: r() * 1e7,
      netTxBytesPerSec: r() * 1e7,
      diskReadBytesPerSec: r() * 1e8,
      diskWriteBytesPerSec: r() * 1e8,
    };
  }
  return rows;
}
