/**
 * The real server in a child process (server-child.ts): for tests where the server itself
 * may fall over (a crash must fail the test, not take the runner with it) or where its RSS
 * is measured apart from the clients'.
 */
import { Child } from '../../bench/child.ts';
import type { SystemMetricsRow } from '../../src/storage/types.ts';

export interface ChildStart {
  databaseUrl: string;
  env?: Record<string, string>;
}

export type ToChild =
  | { type: 'publish'; count: number; deviceId: string; cores: number }
  | { type: 'usage' }
  | { type: 'stop' };

export type FromChild =
  | { type: 'ready'; url: string; token: string }
  | { type: 'published'; total: number }
  | { type: 'usage'; rss: number; heapUsed: number; external: number }
  | { type: 'error'; message: string };

/** A system sample whose corePercents make it about `cores` × 5 bytes of JSON; cpuCount carries its sequence number. */
export function bigSample(deviceId: string, n: number, cores: number): SystemMetricsRow {
  return {
    time: new Date(Date.UTC(2026, 10, 27, 10, 0, 0, n)), deviceId, cpuCount: n, cpuPercent: 12.5, cpuUserPercent: 8, cpuSystemPercent: 3,
    cpuIowaitPercent: 1, cpuStealPercent: 0, corePercents: Array.from({ length: cores }, (_, i) => (i * 7) % 100 + 0.5),
    memTotalBytes: 2 ** 34, memAvailableBytes: 2 ** 33, memUsedPercent: 50, swapTotalBytes: 0, swapFreeBytes: 0, load1: 0.5, load5: 0.4,
    load15: 0.3, uptimeSeconds: 100, processCount: 80, netRxBytesPerSec: 1, netTxBytesPerSec: 2, diskReadBytesPerSec: 3, diskWriteBytesPerSec: 4,
  };
}

export interface ServerProcess {
  url: string;
  token: string;
  child: Child<ToChild, FromChild>;
  /** Whether the process is still running. */
  alive(): boolean;
  publish(count: number, deviceId?: string, cores?: number): Promise<number>;
  rss(): Promise<number>;
  memory(): Promise<{ rss: number; heapUsed: number; external: number }>;
  stop(): Promise<void>;
}

export async function startServerProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = new Child<ToChild, FromChild>('../test/helpers/server-child.ts', 'server child', { gc: true });
  child.send({ databaseUrl, env } as never);
  const ready = await child.next('ready', 60_000);
  return {
    url: ready.url,
    token: ready.token,
    child,
    alive: () => child.proc.exitCode === null && child.proc.signalCode === null,
    async publish(count, deviceId = 'dev-a', cores = 2000) {
      return (await child.request({ type: 'publish', count, deviceId, cores }, 'published')).total;
    },
    async rss() {
      return (await child.request({ type: 'usage' }, 'usage')).rss;
    },
    async memory() {
      const { rss, heapUsed, external } = await child.request({ type: 'usage' }, 'usage');
      return { rss, heapUsed, external };
    },
    stop: () => child.kill({ type: 'stop' }),
  };
}
