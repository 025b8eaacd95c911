/**
 * COPY FROM STDIN of system_metrics rows (text format): the physical limit the storage
 * module's UNNEST insert is compared with. The rows are serialised here, inside the timing,
 * as a COPY-based writer would have to.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { systemMetrics } from '../src/storage/tables.ts';
import type { SystemMetricsRow } from '../src/storage/types.ts';

const COLUMNS = systemMetrics.columns.map((c) => c.name).join(', ');

const field = (v: unknown): string => {
  if (v === null || v === undefined) return '\\N';
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `{${v.join(',')}}`;
  // Only device ids are free text here; escape what COPY's text format treats specially.
  if (typeof v === 'string') return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
  return String(v);
};

export function copyLine(r: SystemMetricsRow): string {
  return [
    r.time, r.deviceId, r.cpuCount, r.cpuPercent, r.cpuUserPercent, r.cpuSystemPercent, r.cpuIowaitPercent, r.cpuStealPercent,
    r.corePercents, r.memTotalBytes, r.memAvailableBytes, r.memUsedPercent, r.swapTotalBytes, r.swapFreeBytes,
    r.load1, r.load5, r.load15, r.uptimeSeconds, r.processCount, r.netRxBytesPerSec, r.netTxBytesPerSec,
    r.diskReadBytesPerSec, r.diskWriteBytesPerSec,
  ].map(field).join('\t') + '\n';
}

/** Streams rows in chunks of `chunk` lines; returns the rows COPY reported. */
export async function copySystemRows(pool: pg.Pool, rows: readonly SystemMetricsRow[], chunk = 2000, table = 'system_metrics'): Promise<number> {
  const client = await pool.connect();
  try {
    const stream = client.query(copyFrom(`COPY ${table} (${COLUMNS}) FROM STDIN`));
    async function* lines() {
      for (let i = 0; i < rows.length; i += chunk) {
        let s = '';
        const end = Math.min(rows.length, i + chunk);
        for (let j = i; j < end; j++) s += copyLine(rows[j]!);
        yield s;
      }
    }
    await pipeline(Readable.from(lines()), stream);
    return Number(stream.rowCount);
  } finally {
    client.release();
  }
}
