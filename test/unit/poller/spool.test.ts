import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.ts';
import { crc32, decodeBatch, encodeBatch, encodeRecord, openSpool, readRecords } from '../../../src/poller/spool.ts';
import { createWriter } from '../../../src/poller/writer.ts';
import type { PrismaClient } from '../../../src/db/generated/client.ts';
import { emptyBatch, type SampleBatch } from '../../../src/storage/types.ts';

const log = createLogger('silent');

function batchAt(ms: number, deviceId = 'd1'): SampleBatch {
  const b = emptyBatch();
  b.system.push({
    time: new Date(ms),
    deviceId,
    cpuCount: 2,
    cpuPercent: ms % 100,
    cpuUserPercent: null,
    cpuSystemPercent: null,
    cpuIowaitPercent: null,
    cpuStealPercent: null,
    corePercents: [1.5, 2.5],
    memTotalBytes: 1000,
    memAvailableBytes: 500,
    memUsedPercent: 50,
    swapTotalBytes: 0,
    swapFreeBytes: 0,
    load1: 0.1,
    load5: 0.2,
    load15: 0.3,
    uptimeSeconds: 100,
    processCount: 10,
    netRxBytesPerSec: null,
    netTxBytesPerSec: null,
    diskReadBytesPerSec: null,
    diskWriteBytesPerSec: null,
  });
  b.containers.push({
    time: new Date(ms),
    deviceId,
    containerId: 'abc',
    name: 'web',
    image: 'nginx',
    state: 'running',
    health: null,
    restartCount: 0,
    exitCode: null,
    createdAt: new Date(ms - 1000),
    startedAt: null,
    cpuPercent: null,
    memUsageBytes: null,
    memLimitBytes: null,
    netRxBytes: null,
    netTxBytes: null,
    blockReadBytes: null,
    blockWriteBytes: null,
    pids: null,
  });
  return b;
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-spool-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('spool records', () => {
  it('crc32 is the standard CRC-32 (IEEE)', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('a batch survives encode → decode with its Dates', () => {
    const b = batchAt(1_700_000_000_123);
    const back = decodeBatch(encodeBatch(b));
    expect(back).toEqual(b);
    expect(back.system[0]!.time).toBeInstanceOf(Date);
    expect(back.containers[0]!.createdAt).toBeInstanceOf(Date);
  });

  it('a record spooled by a version without the hardware tables decodes with them empty (an upgrade during an outage)', () => {
    const b = batchAt(1_700_000_000_123);
    const { pools: _p, sensors: _s, gpus: _g, ...old } = b;
    const back = decodeBatch(Buffer.from(JSON.stringify(old), 'utf8'));
    expect(back).toEqual({ ...b, pools: [], sensors: [], gpus: [] });
  });

  it('skips a corrupt record and a torn tail, keeping every intact record and counting the rows it skipped', () => {
    const payloads = [1, 2, 3, 4].map((i) => Buffer.from(`payload-${i}-${'x'.repeat(i * 10)}`));
    const records = payloads.map((p, i) => encodeRecord(p, i + 1));
    // Flip a byte inside record 2's payload; cut record 4 short (a torn write).
    const damaged = records[1]!;
    damaged[24] = (damaged[24] ?? 0) ^ 0xff;
    const torn = records[3]!.subarray(0, records[3]!.length - 5);
    const data = Buffer.concat([records[0]!, records[1]!, Buffer.from('garbage!'), records[2]!, torn]);
    const got = readRecords(data);
    expect(got.payloads.map((p) => p.toString())).toEqual([payloads[0]!.toString(), payloads[2]!.toString()]);
    expect(got.rows).toEqual([1, 3]);
    expect(got.corrupt).toBe(3); // record 2, the garbage, the torn record 4
    expect(got.skippedRows).toBe(2 + 4);
  });

  it('a damaged header is not trusted: the reader finds the next record', () => {
    const records = [1, 2, 3].map((i) => encodeRecord(Buffer.from(`p${i}`), 1));
    records[1]!.writeUInt32BE(999_999, 4); // length damaged: the header CRC no longer matches
    const got = readRecords(Buffer.concat(records));
    expect(got.payloads.map(String)).toEqual(['p1', 'p3']);
    expect(got.corrupt).toBe(1);
  });

  it('still reads version 1 records left by an older release', () => {
    const payload = encodeBatch(batchAt(5000));
    const header = Buffer.alloc(12);
    header.write('IPS1', 0, 'ascii');
    header.writeUInt32BE(payload.length, 4);
    header.writeUInt32BE(crc32(payload), 8);
    fs.writeFileSync(path.join(dir, '0000000000000001.seg'), Buffer.concat([header, payload]));
    const spool = openSpool({ dir, log });
    const seg = spool.oldest()!;
    expect(seg.records).toEqual([{ batch: batchAt(5000), rows: 2 }]);
    expect(seg.damaged).toBe(false);
    spool.close();
  });

  it('appends a group with one fsync, lists oldest first, survives a reopen, finishes, and refuses past its size cap', () => {
    const spool = openSpool({ dir, log, segmentBytes: 1, maxBytes: 100_000 });
    expect(spool.isEmpty()).toBe(true);
    for (let i = 0; i < 3; i++) expect(spool.append([{ batch: batchAt(i * 1000), rows: 2 }])).toBe(1);
    expect(spool.stats()).toMatchObject({ segments: 3, records: 3, rows: 6 });
    spool.close();

    const again = openSpool({ dir, log, segmentBytes: 1, maxBytes: 100_000 });
    expect(again.stats()).toMatchObject({ segments: 3, records: 3, rows: 6 });
    const first = again.oldest()!;
    expect(first.records[0]!.batch.system[0]!.time.getTime()).toBe(0);
    again.finish(first);
    expect(again.oldest()!.records[0]!.batch.system[0]!.time.getTime()).toBe(1000);
    again.close();

    const small = openSpool({ dir: path.join(dir, 'small'), log, maxBytes: 1500 });
    const stored = small.append(Array.from({ length: 10 }, (_, i) => ({ batch: batchAt(i), rows: 2 })));
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(10);
    expect(small.stats()).toMatchObject({ records: stored, rows: stored * 2 });
    expect(small.stats().bytes).toBeLessThanOrEqual(1500);
    small.close();
  });
});

/** A database stand-in that can be switched off: write fails like a refused connection. */
function fakeDatabase() {
  const written: number[] = [];
  let up = true;
  const prisma = {
    $queryRawUnsafe: async () => {
      if (!up) throw new Error('connect ECONNREFUSED');
      return [];
    },
  } as unknown as PrismaClient;
  const writeBatch = async (_p: PrismaClient, batch: SampleBatch): Promise<number> => {
    if (!up) throw new Error('connect ECONNREFUSED');
    // Idempotent like ON CONFLICT DO NOTHING.
    for (const r of batch.system) if (!written.includes(r.time.getTime())) written.push(r.time.getTime());
    return batch.system.length;
  };
  return {
    prisma,
    writeBatch,
    written,
    set up(v: boolean) {
      up = v;
    },
  };
}

const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('writer', () => {
  it('coalesces concurrent writes into one flush and resolves each after the commit', async () => {
    const db = fakeDatabase();
    const writer = createWriter({ prisma: db.prisma, writeBatch: db.writeBatch, log, spoolDir: dir, flushMs: 20 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => writer.write(batchAt(i * 1000, `d${i}`))));
    expect(results).toEqual(['committed', 'committed', 'committed', 'committed', 'committed']);
    expect(writer.stats().flushes).toBe(1);
    expect(db.written).toHaveLength(5);
    await writer.stop();
  });

  it('a flush slower than flushMs does not strand the writes queued behind it', async () => {
    const db = fakeDatabase();
    const slow = async (p: PrismaClient, batch: SampleBatch): Promise<number> => {
      await new Promise((r) => setTimeout(r, 150));
      return db.writeBatch(p, batch);
    };
    const writer = createWriter({ prisma: db.prisma, writeBatch: slow, log, spoolDir: dir, flushMs: 10 });
    const first = writer.write(batchAt(1000));
    await new Promise((r) => setTimeout(r, 30)); // the first flush is running now
    const second = writer.write(batchAt(2000)); // its timer fires while the first flush still runs
    const settled = await Promise.race([Promise.all([first, second]), new Promise((r) => setTimeout(() => r('stuck'), 3000))]);
    expect(settled).toEqual(['committed', 'committed']);
    await writer.stop();
  });

  it('flushes at maxRows without waiting for the timer', async () => {
    const db = fakeDatabase();
    const writer = createWriter({ prisma: db.prisma, writeBatch: db.writeBatch, log, spoolDir: dir, flushMs: 60_000, maxRows: 4 });
    const r = await Promise.all([writer.write(batchAt(1)), writer.write(batchAt(2))]); // 2 rows each
    expect(r).toEqual(['committed', 'committed']);
    await writer.stop();
  });

  it('a backlog queued behind a slow flush is written in flushes of at most maxRows rows, oldest first', async () => {
    // At 10,000 devices the connection burst queued 100,000 rows behind one flush; the next
    // flush took them all as one statement, and its time grew with the backlog it was clearing.
    const db = fakeDatabase();
    const flushRows: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slowFirst = async (p: PrismaClient, batch: SampleBatch): Promise<number> => {
      if (flushRows.push(batch.system.length + batch.containers.length) === 1) await held;
      return db.writeBatch(p, batch);
    };
    const writer = createWriter({ prisma: db.prisma, writeBatch: slowFirst, log, spoolDir: dir, flushMs: 5, maxRows: 6 });
    const all = Array.from({ length: 20 }, (_, i) => writer.write(batchAt(i * 1000, `d${i}`))); // 2 rows each
    await new Promise((r) => setTimeout(r, 30));
    release();
    expect(await Promise.all(all)).toEqual(all.map(() => 'committed'));
    expect(flushRows.reduce((a, b) => a + b)).toBe(40);
    expect(Math.max(...flushRows)).toBeLessThanOrEqual(6);
    expect(db.written).toEqual(Array.from({ length: 20 }, (_, i) => i * 1000));
    await writer.stop();
  });

  it('a transaction that cannot start in time (Prisma P2028, a saturated pool) spools the flush; nothing is dropped or written twice', async () => {
    // Seen at 10,000 devices: SELECT 1 still answered, so the whole flush was retried batch by
    // batch, each a transaction of its own (1,200 rows/s), and a batch whose retry timed out
    // again would have been dropped as "refused".
    const db = fakeDatabase();
    let busy = true;
    const saturated = async (p: PrismaClient, batch: SampleBatch): Promise<number> => {
      if (busy) throw Object.assign(new Error('Transaction API error: Unable to start a transaction in the given time.'), { code: 'P2028' });
      return db.writeBatch(p, batch);
    };
    const writer = createWriter({ prisma: db.prisma, writeBatch: saturated, log, spoolDir: dir, flushMs: 5, retry: { baseMs: 20, maxMs: 50 } });
    const r = await Promise.all([writer.write(batchAt(1000, 'a')), writer.write(batchAt(2000, 'b'))]);
    expect(r).toEqual(['deferred', 'deferred']);
    expect(writer.stats().outage).toBe(true);
    busy = false;
    await until(() => writer.drained());
    expect(db.written).toEqual([1000, 2000]);
    expect(writer.stats().droppedRows).toBe(0);
    await writer.stop();
  });

  it('a failure after the commit (events, alert queue) is logged and does not write the batch again', async () => {
    const db = fakeDatabase();
    let writes = 0;
    const counting = (p: PrismaClient, batch: SampleBatch): Promise<number> => {
      writes++;
      return db.writeBatch(p, batch);
    };
    const errors: string[] = [];
    const spy = createLogger('error', { write: (line: string) => void errors.push(line) });
    const writer = createWriter({
      prisma: db.prisma,
      writeBatch: counting,
      log: spy,
      spoolDir: dir,
      flushMs: 5,
      onCommitted: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    });
    expect(await Promise.all([writer.write(batchAt(1000, 'a')), writer.write(batchAt(2000, 'b'))])).toEqual(['committed', 'committed']);
    expect(writes).toBe(1);
    expect(errors.join('\n')).toMatch(/Maximum call stack size exceeded/);
    await writer.stop();
  });

  it('during an outage buffers, spills to the spool, and replays everything in order exactly once', async () => {
    const db = fakeDatabase();
    const writer = createWriter({
      prisma: db.prisma,
      writeBatch: db.writeBatch,
      log,
      spoolDir: dir,
      flushMs: 5,
      memoryRows: 10,
      retry: { baseMs: 20, maxMs: 50 },
    });
    expect(await writer.write(batchAt(0))).toBe('committed');
    db.up = false;
    const results: string[] = [];
    for (let i = 1; i <= 40; i++) results.push(await writer.write(batchAt(i * 1000)));
    expect(results.every((r) => r === 'deferred')).toBe(true);
    const s = writer.stats();
    expect(s.outage).toBe(true);
    expect(s.spool.records).toBeGreaterThan(0);
    expect(s.bufferedRows).toBeLessThanOrEqual(12);
    db.up = true;
    await until(() => writer.drained());
    expect(writer.stats().outage).toBe(false);
    expect(db.written).toEqual(Array.from({ length: 41 }, (_, i) => i * 1000));
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.seg'))).toEqual([]);
    await writer.stop();
  });

  it('stop() during an outage puts everything on disk; the next writer replays it', async () => {
    const db = fakeDatabase();
    const w1 = createWriter({ prisma: db.prisma, writeBatch: db.writeBatch, log, spoolDir: dir, flushMs: 5, retry: { baseMs: 10_000 } });
    db.up = false;
    for (let i = 0; i < 5; i++) await w1.write(batchAt(i * 1000));
    await w1.stop();
    expect(db.written).toEqual([]);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(0);

    db.up = true;
    const w2 = createWriter({ prisma: db.prisma, writeBatch: db.writeBatch, log, spoolDir: dir, flushMs: 5 });
    expect(w2.stats().spool.records).toBeGreaterThan(0);
    w2.start();
    await until(() => w2.drained());
    expect(db.written).toEqual([0, 1000, 2000, 3000, 4000]);
    await w2.stop();
  });

  it('a batch the reachable database refuses is dropped; the others in its flush are kept', async () => {
    const db = fakeDatabase();
    const picky = async (p: PrismaClient, batch: SampleBatch): Promise<number> => {
      if (batch.system.some((r) => r.deviceId === 'bad')) throw new Error('invalid input syntax');
      return db.writeBatch(p, batch);
    };
    const writer = createWriter({ prisma: db.prisma, writeBatch: picky, log, spoolDir: dir, flushMs: 20 });
    const r = await Promise.all([writer.write(batchAt(1000, 'good')), writer.write(batchAt(2000, 'bad')), writer.write(batchAt(3000, 'good'))]);
    expect(r).toEqual(['committed', 'dropped', 'committed']);
    expect(db.written).toEqual([1000, 3000]);
    expect(writer.stats().droppedRows).toBe(2);
    await writer.stop();
  });
});

describe('spool records and damage (issue #13, item 5)', () => {
  it('one record per poll batch: damage to one record costs that poll only', async () => {
    const db = fakeDatabase();
    const w1 = createWriter({ prisma: db.prisma, writeBatch: db.writeBatch, log, spoolDir: dir, flushMs: 5, retry: { baseMs: 10_000 } });
    db.up = false;
    for (let i = 0; i < 30; i++) expect(await w1.write(batchAt(i * 1000))).toBe('deferred');
    await w1.stop();
    const records = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.seg'))
      .flatMap((f) => readRecords(fs.readFileSync(path.join(dir, f))).payloads.map(decodeBatch));
    expect(records).toHaveLength(30);
    expect(records.map((b) => b.system[0]!.time.getTime())).toEqual(Array.from({ length: 30 }, (_, i) => i * 1000));
  });

  it('a damaged segment is replayed as far as it is readable, then quarantined (kept, renamed); the rows skipped are counted', async () => {
    const db = fakeDatabase();
    const w1 = createWriter({ prisma: db.prisma, writeBatch: db.writeBatch, log, spoolDir: dir, flushMs: 5, retry: { baseMs: 10_000 } });
    db.up = false;
    for (let i = 0; i < 6; i++) await w1.write(batchAt(i * 1000));
    await w1.stop();
    const [name, ...others] = fs.readdirSync(dir).filter((f) => f.endsWith('.seg'));
    expect(others).toEqual([]);
    const file = path.join(dir, name!);
    const data = fs.readFileSync(file);
    let at = -1;
    for (let i = 0; i < 3; i++) at = data.indexOf('IPS', at + 1);
    data.write('#garbage#', at + 60, 'latin1'); // inside the third record's payload
    fs.writeFileSync(file, data);

    db.up = true;
    const w2 = createWriter({ prisma: db.prisma, writeBatch: db.writeBatch, log, spoolDir: dir, flushMs: 5 });
    w2.start();
    await until(() => w2.drained());
    expect(db.written).toEqual([0, 1000, 3000, 4000, 5000]);
    expect(fs.readdirSync(dir)).toEqual([`${name}.corrupt`]);
    expect(w2.stats().spool).toMatchObject({ corruptRecords: 1, skippedRows: 2, quarantinedSegments: 1, segments: 0, records: 0 });
    await w2.stop();
    // The count survives a restart: it is read back from the quarantined segment.
    const w3 = createWriter({ prisma: db.prisma, writeBatch: db.writeBatch, log, spoolDir: dir, flushMs: 5 });
    expect(w3.stats().spool).toMatchObject({ corruptRecords: 1, skippedRows: 2, quarantinedSegments: 1 });
    await w3.stop();
  });
});
