/**
 * Append-only on-disk spool for samples the database could not take: segment files
 * `DATA_DIR/spool/<16-digit sequence>.seg`, replayed oldest first.
 *
 * Record: magic "IPS1" | u32 payload length | u32 CRC-32 of the payload | payload (JSON of a
 * SampleBatch). Every append is fsynced before it counts as stored. A record whose length runs
 * past the file's end (torn write) or whose CRC does not match is skipped: the reader looks for
 * the next magic and carries on, so one bad record costs only itself.
 * A segment is deleted only after the caller says all its records are committed.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Logger } from '../log.ts';
import type { SampleBatch } from '../storage/types.ts';

const MAGIC = Buffer.from('IPS1', 'ascii');
const HEADER = 12;
/** Beyond this a record is certainly corrupt (a sane batch is far smaller). */
const MAX_RECORD = 256 * 1024 * 1024;

export interface SpoolOptions {
  dir: string;
  /** Total bytes on disk before new records are refused (default 1 GiB). */
  maxBytes?: number;
  /** A segment is closed and a new one started past this size (default 8 MiB). */
  segmentBytes?: number;
  log: Logger;
}

export interface SpoolStats {
  segments: number;
  records: number;
  bytes: number;
  /** Batches refused because the spool was full, and their rows. */
  droppedBatches: number;
  droppedRows: number;
  /** Records skipped on replay because they were torn or corrupt. */
  corruptRecords: number;
}

export interface SpoolSegment {
  file: string;
  batches: SampleBatch[];
}

export interface Spool {
  /** Appends and fsyncs; false when the spool is full (the batch is dropped and counted). */
  append(batch: SampleBatch, rows: number): boolean;
  /** The oldest segment with its readable records, or undefined when the spool is empty. Seals the segment being written. */
  oldest(): SpoolSegment | undefined;
  /** Deletes a segment whose records have all been committed. */
  remove(file: string): void;
  isEmpty(): boolean;
  stats(): SpoolStats;
  close(): void;
}

export function crc32(data: Uint8Array): number {
  return zlib.crc32(data) >>> 0;
}

/** JSON turns Dates into ISO strings; these are the row fields that were Dates. */
const DATE_FIELDS = ['time', 'createdAt', 'startedAt'] as const;

export function encodeBatch(batch: SampleBatch): Buffer {
  return Buffer.from(JSON.stringify(batch), 'utf8');
}

export function decodeBatch(payload: Buffer): SampleBatch {
  const parsed = JSON.parse(payload.toString('utf8')) as Record<keyof SampleBatch, Array<Record<string, unknown>>>;
  for (const rows of Object.values(parsed)) {
    for (const row of rows) {
      for (const f of DATE_FIELDS) {
        const v = row[f];
        if (typeof v === 'string') row[f] = new Date(v);
      }
    }
  }
  return parsed as unknown as SampleBatch;
}

export function encodeRecord(payload: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(payload.length, 4);
  header.writeUInt32BE(crc32(payload), 8);
  return Buffer.concat([header, payload]);
}

/** Every intact record's payload, in order; `corrupt` counts what was skipped. */
export function readRecords(data: Buffer): { payloads: Buffer[]; corrupt: number } {
  const payloads: Buffer[] = [];
  let corrupt = 0;
  let pos = 0;
  while (pos < data.length) {
    const at = data.indexOf(MAGIC, pos);
    if (at < 0) {
      corrupt++;
      break;
    }
    if (at > pos) corrupt++; // garbage before this record
    if (at + HEADER > data.length) {
      corrupt++;
      break;
    }
    const length = data.readUInt32BE(at + 4);
    const crc = data.readUInt32BE(at + 8);
    const end = at + HEADER + length;
    if (length > MAX_RECORD || end > data.length || crc32(data.subarray(at + HEADER, end)) !== crc) {
      corrupt++;
      pos = at + 1; // resynchronise on the next magic
      // Skip to the next magic so the garbage between is not counted a second time.
      const next = data.indexOf(MAGIC, pos);
      if (next < 0) break;
      pos = next;
      continue;
    }
    payloads.push(data.subarray(at + HEADER, end));
    pos = end;
  }
  return { payloads, corrupt };
}

const SEGMENT_RE = /^(\d{16})\.seg$/;

export function openSpool(options: SpoolOptions): Spool {
  const { dir, log } = options;
  const maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
  const segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
  fs.mkdirSync(dir, { recursive: true });

  // Existing segments (left by a previous run) count towards depth; their record counts are read lazily.
  const segments = new Map<string, { bytes: number; records: number }>();
  let seq = 0;
  for (const name of fs.readdirSync(dir).sort()) {
    const m = SEGMENT_RE.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const data = fs.readFileSync(file);
    segments.set(file, { bytes: data.length, records: readRecords(data).payloads.length });
    seq = Math.max(seq, Number(m[1]));
  }
  let current: { file: string; fd: number; bytes: number } | undefined;
  let droppedBatches = 0;
  let droppedRows = 0;
  let corruptRecords = 0;
  let fullLogged = false;

  const totalBytes = (): number => {
    let n = 0;
    for (const s of segments.values()) n += s.bytes;
    return n;
  };

  const seal = (): void => {
    if (!current) return;
    fs.closeSync(current.fd);
    current = undefined;
  };

  const fsyncDir = (): void => {
    // A new file's directory entry is durable only once the directory itself is fsynced.
    try {
      const fd = fs.openSync(dir, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    } catch {
      // Not supported on every filesystem; the data itself was fsynced.
    }
  };

  return {
    append(batch, rows) {
      const record = encodeRecord(encodeBatch(batch));
      if (totalBytes() + record.length > maxBytes) {
        droppedBatches++;
        droppedRows += rows;
        if (!fullLogged) {
          fullLogged = true;
          log.error(
            { spoolDir: dir, maxBytes },
            'sample spool is full: samples collected while the database is unreachable are now being DROPPED (counted in stats) until it drains',
          );
        }
        return false;
      }
      if (current && current.bytes >= segmentBytes) seal();
      if (!current) {
        seq++;
        const file = path.join(dir, `${String(seq).padStart(16, '0')}.seg`);
        current = { file, fd: fs.openSync(file, 'a'), bytes: 0 };
        segments.set(file, { bytes: 0, records: 0 });
        fsyncDir();
      }
      fs.writeSync(current.fd, record);
      fs.fsyncSync(current.fd);
      current.bytes += record.length;
      const s = segments.get(current.file)!;
      s.bytes += record.length;
      s.records++;
      return true;
    },

    oldest() {
      const file = [...segments.keys()].sort()[0];
      if (file === undefined) return undefined;
      if (current?.file === file) seal();
      let data: Buffer;
      try {
        data = fs.readFileSync(file);
      } catch (err) {
        log.warn({ file, err: (err as Error).message }, 'spool segment unreadable; skipping it');
        segments.delete(file);
        return { file, batches: [] };
      }
      const { payloads, corrupt } = readRecords(data);
      const batches: SampleBatch[] = [];
      let bad = corrupt;
      for (const p of payloads) {
        try {
          batches.push(decodeBatch(p));
        } catch {
          bad++;
        }
      }
      if (bad > 0) {
        corruptRecords += bad;
        log.warn({ file, skipped: bad, kept: batches.length }, 'spool segment has torn or corrupt records; skipping them and keeping the rest');
      }
      return { file, batches };
    },

    remove(file) {
      if (current?.file === file) seal();
      fs.rmSync(file, { force: true });
      segments.delete(file);
      if (segments.size === 0) fullLogged = false;
    },

    isEmpty: () => segments.size === 0,

    stats() {
      let records = 0;
      for (const s of segments.values()) records += s.records;
      return { segments: segments.size, records, bytes: totalBytes(), droppedBatches, droppedRows, corruptRecords };
    },

    close() {
      seal();
    },
  };
}
