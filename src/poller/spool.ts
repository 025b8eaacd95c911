/**
 * Append-only on-disk spool for samples the database could not take: segment files
 * `DATA_DIR/spool/<16-digit sequence>.seg`, replayed oldest first.
 *
 * One record per poll batch: magic "IPS2" | u32 payload length | u32 rows | u32 CRC-32 of the
 * payload | u32 CRC-32 of the 16 header bytes before it | payload (JSON of a SampleBatch).
 * Records go in by group commit: `append` writes a group of records and fsyncs once; a record
 * counts as stored only once it was written whole and fsynced. A short write, ENOSPC or a
 * failed fsync stores nothing partial: the segment is cut back to the last whole record.
 *
 * Reading skips a record whose CRC does not match or that runs past the file's end (a torn
 * tail after a crash): with an intact header its rows are counted as skipped, and the reader
 * carries on at the next record, so damage costs only the records it touches. A segment found
 * damaged is quarantined once replayed (renamed `<name>.seg.corrupt`, kept for inspection);
 * its skipped records and rows stay counted, also across restarts. Version 1 records ("IPS1",
 * 12-byte header without rows) left by an older release are still read.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Logger } from '../log.ts';
import { batchSize } from '../storage/index.ts';
import { emptyBatch, type SampleBatch } from '../storage/types.ts';

const MAGIC_PREFIX = Buffer.from('IPS', 'ascii');
const HEADER_V1 = 12;
const HEADER_V2 = 20;
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
  /** Segments waiting for replay, their records, rows and bytes. */
  segments: number;
  records: number;
  rows: number;
  bytes: number;
  /** Records found torn or corrupt (in replayed and quarantined segments), and the rows they held. */
  corruptRecords: number;
  skippedRows: number;
  /** Damaged segments kept as `*.seg.corrupt`. */
  quarantinedSegments: number;
}

export interface SpoolItem {
  batch: SampleBatch;
  rows: number;
}

export interface SpoolSegment {
  file: string;
  /** The readable records, in order. */
  records: SpoolItem[];
  /** Some record was torn or corrupt: finish() quarantines the segment instead of deleting it. */
  damaged: boolean;
}

export interface Spool {
  /**
   * Appends each item as its own record and fsyncs once. Returns how many items, from the
   * first, are stored; the rest were refused (spool full, disk full, I/O error) and nothing of
   * them is on disk. Never throws.
   */
  append(items: readonly SpoolItem[]): number;
  /** The oldest segment with its readable records, or undefined when the spool is empty. Seals the segment being written. */
  oldest(): SpoolSegment | undefined;
  /** Every readable record of the segment is committed: delete it, or quarantine it when damaged. */
  finish(segment: SpoolSegment): void;
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
  // A record written by an older version lacks the tables added since: they are empty, not missing.
  return { ...emptyBatch(), ...(parsed as unknown as Partial<SampleBatch>) };
}

export function encodeRecord(payload: Buffer, rows: number): Buffer {
  const header = Buffer.alloc(HEADER_V2);
  header.write('IPS2', 0, 'ascii');
  header.writeUInt32BE(payload.length, 4);
  header.writeUInt32BE(rows, 8);
  header.writeUInt32BE(crc32(payload), 12);
  header.writeUInt32BE(crc32(header.subarray(0, 16)), 16);
  return Buffer.concat([header, payload]);
}

export interface ReadResult {
  /** Every intact record's payload, in order, with its row count (null for version 1 records). */
  payloads: Buffer[];
  rows: (number | null)[];
  /** Torn or corrupt records skipped, and the rows of those whose header was intact. */
  corrupt: number;
  skippedRows: number;
}

/** The next record start at or after `from`: "IPS1" or "IPS2". */
function nextMagic(data: Buffer, from: number): number {
  for (let at = data.indexOf(MAGIC_PREFIX, from); at >= 0; at = data.indexOf(MAGIC_PREFIX, at + 1)) {
    const v = data[at + 3];
    if (v === 0x31 || v === 0x32) return at;
    if (v === undefined) return -1;
  }
  return -1;
}

interface Header {
  size: number;
  length: number;
  rows: number | null;
  crc: number;
  /** False when a version 2 header fails its own CRC: nothing in it can be trusted. */
  trusted: boolean;
}

function readHeader(data: Buffer, at: number): Header | undefined {
  const v2 = data[at + 3] === 0x32;
  const size = v2 ? HEADER_V2 : HEADER_V1;
  if (at + size > data.length) return undefined;
  if (!v2) return { size, length: data.readUInt32BE(at + 4), rows: null, crc: data.readUInt32BE(at + 8), trusted: true };
  const trusted = crc32(data.subarray(at, at + 16)) === data.readUInt32BE(at + 16);
  return { size, length: data.readUInt32BE(at + 4), rows: data.readUInt32BE(at + 8), crc: data.readUInt32BE(at + 12), trusted };
}

export function readRecords(data: Buffer): ReadResult {
  const out: ReadResult = { payloads: [], rows: [], corrupt: 0, skippedRows: 0 };
  let pos = 0;
  while (pos < data.length) {
    const at = nextMagic(data, pos);
    if (at < 0) {
      out.corrupt++; // trailing garbage
      break;
    }
    if (at > pos) out.corrupt++; // garbage before this record
    const h = readHeader(data, at);
    if (!h) {
      out.corrupt++; // a header cut short: a torn tail
      break;
    }
    const end = at + h.size + h.length;
    if (!h.trusted || h.length > MAX_RECORD) {
      out.corrupt++;
      pos = nextMagic(data, at + 1);
      if (pos < 0) break;
      continue;
    }
    if (end > data.length || crc32(data.subarray(at + h.size, end)) !== h.crc) {
      out.corrupt++;
      out.skippedRows += h.rows ?? 0;
      // Version 2 lengths are covered by the header CRC: the next record starts right after.
      // A version 1 length may be the damaged part: look for the next magic instead.
      pos = h.rows !== null && end <= data.length ? end : nextMagic(data, at + 1);
      if (pos < 0) break;
      continue;
    }
    out.payloads.push(data.subarray(at + h.size, end));
    out.rows.push(h.rows);
    pos = end;
  }
  return out;
}

const SEGMENT_RE = /^(\d{16})\.seg$/;
const QUARANTINED_RE = /^(\d{16})\.seg\.corrupt$/;

/** Writes all of `data` (a regular file may take it in several writes), or throws. */
function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    const n = fs.writeSync(fd, data, off, data.length - off);
    if (n <= 0) throw Object.assign(new Error('write wrote nothing (disk full?)'), { code: 'ENOSPC' });
    off += n;
  }
}

function fsyncDir(dir: string): void {
  // A new file's directory entry is durable only once the directory itself is fsynced.
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not supported on every filesystem; the data itself is fsynced.
  }
}

const errCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

export function openSpool(options: SpoolOptions): Spool {
  const { dir, log } = options;
  const maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
  const segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
  fs.mkdirSync(dir, { recursive: true });

  const segments = new Map<string, { bytes: number; records: number; rows: number }>();
  const damage = { corruptRecords: 0, skippedRows: 0, quarantinedSegments: 0 };
  let seq = 0;
  // Existing segments (left by a previous run) count towards depth; quarantined ones towards damage.
  for (const name of fs.readdirSync(dir).sort()) {
    const live = SEGMENT_RE.exec(name);
    const quarantined = QUARANTINED_RE.exec(name);
    const m = live ?? quarantined;
    if (!m) continue;
    seq = Math.max(seq, Number(m[1]));
    const file = path.join(dir, name);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch (err) {
      log.warn({ file, err: errCode(err) }, 'spool segment unreadable at start');
      data = Buffer.alloc(0);
    }
    const r = readRecords(data);
    if (live) segments.set(file, { bytes: data.length, records: r.payloads.length, rows: r.rows.reduce<number>((n, x) => n + (x ?? 0), 0) });
    else {
      damage.quarantinedSegments++;
      damage.corruptRecords += r.corrupt;
      damage.skippedRows += r.skippedRows;
    }
  }
  let current: { file: string; fd: number; bytes: number } | undefined;
  /** One error log per episode of refused writes, not one per group commit. */
  let refusing = false;

  const totalBytes = (): number => {
    let n = 0;
    for (const s of segments.values()) n += s.bytes;
    return n;
  };

  const seal = (): void => {
    if (!current) return;
    try {
      fs.closeSync(current.fd);
    } catch {
      // Already unusable: the records in it were fsynced when they were counted.
    }
    current = undefined;
  };

  const refuse = (reason: string, detail: Record<string, unknown>): void => {
    if (refusing) return;
    refusing = true;
    log.error({ spoolDir: dir, reason, ...detail }, 'sample spool cannot store more records: samples now wait in memory (bounded), beyond that they are DROPPED');
  };

  const openSegment = (): boolean => {
    if (current && current.bytes >= segmentBytes) seal();
    if (current) return true;
    const file = path.join(dir, `${String(seq + 1).padStart(16, '0')}.seg`);
    try {
      current = { file, fd: fs.openSync(file, 'a'), bytes: 0 };
    } catch (err) {
      refuse(errCode(err), { file });
      return false;
    }
    seq++;
    segments.set(file, { bytes: 0, records: 0, rows: 0 });
    fsyncDir(dir);
    return true;
  };

  /** Cuts the segment back to `length` after a failed write; seals it when even that fails. */
  const cutBack = (length: number): void => {
    const cur = current!;
    try {
      fs.ftruncateSync(cur.fd, length);
      fs.fsyncSync(cur.fd);
      cur.bytes = length;
    } catch (err) {
      // The torn tail stays; replay skips it and counts it, and the segment is quarantined then.
      log.error({ file: cur.file, err: errCode(err) }, 'could not cut a failed spool write back; its torn tail will be skipped on replay');
      seal();
    }
  };

  return {
    append(items) {
      if (items.length === 0 || !openSegment()) return 0;
      const cur = current!;
      const start = cur.bytes;
      let total = totalBytes();
      const ends: number[] = [];
      let end = start;
      let failure: string | undefined;
      for (const it of items) {
        const record = encodeRecord(encodeBatch(it.batch), it.rows);
        if (total + record.length > maxBytes) {
          refuse('spool full', { maxBytes });
          break;
        }
        try {
          writeAll(cur.fd, record);
        } catch (err) {
          failure = errCode(err);
          break;
        }
        end += record.length;
        total += record.length;
        ends.push(end);
      }
      let stored = ends.length;
      if (stored > 0) {
        try {
          fs.fsyncSync(cur.fd);
        } catch (err) {
          // Which of the written records reached the disk is unknown: none counts.
          failure = errCode(err);
          stored = 0;
        }
      }
      const good = stored > 0 ? ends[stored - 1]! : start;
      if (failure !== undefined) {
        refuse(failure, { file: cur.file });
        cutBack(good);
      }
      const s = segments.get(cur.file)!;
      s.bytes = good;
      if (current) current.bytes = good;
      for (let i = 0; i < stored; i++) {
        s.records++;
        s.rows += items[i]!.rows;
      }
      if (stored === items.length) refusing = false;
      return stored;
    },

    oldest() {
      const file = [...segments.keys()].sort()[0];
      if (file === undefined) return undefined;
      if (current?.file === file) seal();
      let data: Buffer;
      try {
        data = fs.readFileSync(file);
      } catch (err) {
        log.error({ file, err: errCode(err) }, 'spool segment unreadable; quarantining it');
        damage.corruptRecords++;
        return { file, records: [], damaged: true };
      }
      const r = readRecords(data);
      const records: SpoolItem[] = [];
      let bad = r.corrupt;
      let skipped = r.skippedRows;
      r.payloads.forEach((p, i) => {
        try {
          const batch = decodeBatch(p);
          records.push({ batch, rows: r.rows[i] ?? batchSize(batch) });
        } catch {
          bad++;
          skipped += r.rows[i] ?? 0;
        }
      });
      if (bad > 0) {
        damage.corruptRecords += bad;
        damage.skippedRows += skipped;
        log.error({ file, skippedRecords: bad, skippedRows: skipped, kept: records.length }, 'spool segment has torn or corrupt records: replaying the rest, then keeping it as .corrupt');
      }
      return { file, records, damaged: bad > 0 };
    },

    finish(segment) {
      if (current?.file === segment.file) seal();
      segments.delete(segment.file);
      try {
        if (segment.damaged) {
          fs.renameSync(segment.file, `${segment.file}.corrupt`);
          damage.quarantinedSegments++;
        } else {
          fs.rmSync(segment.file, { force: true });
        }
      } catch (err) {
        log.error({ file: segment.file, err: errCode(err) }, 'could not remove or quarantine a replayed spool segment');
      }
    },

    isEmpty: () => segments.size === 0,

    stats() {
      let records = 0;
      let rows = 0;
      for (const s of segments.values()) {
        records += s.records;
        rows += s.rows;
      }
      return { segments: segments.size, records, rows, bytes: totalBytes(), ...damage };
    },

    close() {
      seal();
    },
  };
}
