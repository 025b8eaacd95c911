/**
 * A full disk under the spool (issue #13, item 4), on a real 64 KiB tmpfs and a real stopped
 * PostgreSQL: a short write or ENOSPC never counts a record as stored, nothing torn stays in
 * a segment, what the disk refuses waits in memory (bounded), what is beyond the bound is
 * counted and logged as dropped, and everything reported stored reaches the database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../src/db/adapter.ts';
import { createPrismaClient, PrismaClient } from '../../../src/db/index.ts';
import { createLogger } from '../../../src/log.ts';
import { readRecords } from '../../../src/poller/spool.ts';
import { createWriter, type WriteResult } from '../../../src/poller/writer.ts';
import { emptyBatch, type SampleBatch } from '../../../src/storage/types.ts';
import { ownPostgres, type OwnPostgres } from '../../helpers/own-postgres.ts';
import { canMount, mountSmallFilesystem, type SmallFilesystem } from '../../helpers/small-filesystem.ts';
import { systemRow } from '../../helpers/rows.ts';
import { tempDir, until } from './setup.ts';

const SPOOL_BYTES = 64 * 1024;
const MEMORY_ROWS = 100;

let db: OwnPostgres;
let pool: pg.Pool;
let prisma: PrismaClient;
let disk: SmallFilesystem | null = null;
const dir = tempDir('infrapulse-full-disk-');

beforeAll(async () => {
  db = await ownPostgres('infrapulse-full-disk-pg-', { migrate: true });
  pool = createPool(db.url, { max: 3, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {
    // Idle connections die when the server stops: that is the outage under test.
  });
  prisma = createPrismaClient(pool);
  disk = mountSmallFilesystem(path.join(dir, 'spool'), SPOOL_BYTES);
}, 120_000);

afterAll(async () => {
  disk?.unmount();
  await prisma?.$disconnect().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  await db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One poll's batch: a system row and a few filesystem rows (about 1.5 KB of JSON). */
function pollBatch(deviceId: string, ms: number): SampleBatch {
  const b = emptyBatch();
  b.system.push(systemRow(deviceId, new Date(ms)));
  for (const mount of ['/', '/var', '/home']) {
    b.filesystems.push({ time: new Date(ms), deviceId, mount, filesystem: '/dev/sda1', fsType: 'ext4', sizeBytes: 1e12, usedBytes: 5e11, availableBytes: 5e11, usedPercent: 50 });
  }
  return b;
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, log: createLogger('info', stream) };
}

describe.runIf(canMount())('a full disk under the spool', () => {
  it('never counts a torn record as stored, keeps what it can, counts and logs what it drops', async () => {
    expect(disk, 'a tmpfs could be mounted').not.toBeNull();
    const spoolDir = disk!.dir;
    const { lines, log } = capture();
    const writer = createWriter({ prisma, log, spoolDir, flushMs: 10, memoryRows: MEMORY_ROWS, spoolCommitMs: 20, retry: { baseMs: 50, maxMs: 200 } });
    await db.stop();

    const results: { ms: number; rows: number; result: WriteResult }[] = [];
    const start = Date.UTC(2026, 5, 1);
    for (let i = 0; i < 160; i++) {
      const ms = start + i * 1000;
      const batch = pollBatch('full-disk', ms);
      results.push({ ms, rows: 4, result: await writer.write(batch) });
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 30)); // group commits happen meanwhile
    }
    await until(() => writer.stats().bufferedRows <= MEMORY_ROWS && lines.some((l) => /spool/.test(String(l.msg)) && l.level === 50), 'the spool to fill up');
    await new Promise((r) => setTimeout(r, 100));

    const stats = writer.stats();
    const dropped = results.filter((r) => r.result === 'dropped');
    const kept = results.filter((r) => r.result === 'deferred');
    expect(dropped.length).toBeGreaterThan(0);
    expect(kept.length).toBeGreaterThan(0);
    expect(stats.droppedRows).toBe(dropped.reduce((n, r) => n + r.rows, 0));
    expect(stats.bufferedRows).toBeLessThanOrEqual(MEMORY_ROWS);
    expect(stats.bufferedRows).toBeGreaterThan(0); // the disk refused them; they wait in memory
    // Every byte on the disk is an intact record, and the spool counts exactly those.
    let onDisk = 0;
    for (const f of fs.readdirSync(spoolDir).filter((n) => n.endsWith('.seg'))) {
      const { payloads, corrupt } = readRecords(fs.readFileSync(path.join(spoolDir, f)));
      expect(corrupt, `torn or corrupt records in ${f}`).toBe(0);
      onDisk += payloads.length;
    }
    expect(onDisk).toBeGreaterThan(0);
    expect(stats.spool.records).toBe(onDisk);
    expect(onDisk + stats.bufferedRows / 4).toBe(kept.length);
    const dropLog = lines.find((l) => l.level === 50 && /DROPPED|dropp/i.test(String(l.msg)));
    expect(dropLog, 'an error log about dropped samples').toBeDefined();

    await db.start();
    await until(() => writer.drained(), 'the spool and memory to drain', 30_000);
    await writer.stop();
    const { rows } = await pool.query<{ time: Date }>("SELECT time FROM system_metrics WHERE device_id = 'full-disk' ORDER BY time");
    expect(rows.map((r) => r.time.getTime())).toEqual(kept.map((r) => r.ms));
    const fsRows = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM filesystem_metrics WHERE device_id = 'full-disk'");
    expect(fsRows.rows[0]!.n).toBe(kept.length * 3);
  });

  it('stop() with a full disk counts and logs what it could not keep', async () => {
    const spoolDir = disk!.dir;
    for (const f of fs.readdirSync(spoolDir)) fs.rmSync(path.join(spoolDir, f), { force: true });
    // Fill the disk with something else first, to the last byte.
    const filler = fs.openSync(path.join(spoolDir, 'filler'), 'a');
    for (const size of [4096, 1]) {
      try {
        for (;;) fs.writeSync(filler, Buffer.alloc(size));
      } catch {
        // ENOSPC: full at this granularity
      }
    }
    fs.closeSync(filler);
    const { lines, log } = capture();
    const writer = createWriter({ prisma, log, spoolDir, flushMs: 10, memoryRows: 1000, spoolCommitMs: 20, retry: { baseMs: 10_000 } });
    await db.stop();
    let kept = 0;
    for (let i = 0; i < 20; i++) if ((await writer.write(pollBatch('full-disk-stop', Date.UTC(2026, 6, 1) + i * 1000))) === 'deferred') kept++;
    expect(kept).toBe(20); // in memory: the bound is not reached
    await writer.stop();
    const s = writer.stats();
    const onDisk = fs
      .readdirSync(spoolDir)
      .filter((n) => n.endsWith('.seg'))
      .reduce((n, f) => n + readRecords(fs.readFileSync(path.join(spoolDir, f))).payloads.length, 0);
    expect(s.droppedRows).toBe((20 - onDisk) * 4);
    expect(s.droppedRows).toBeGreaterThan(0);
    expect(lines.some((l) => l.level === 50 && /lost/i.test(String(l.msg)))).toBe(true);
    fs.rmSync(path.join(spoolDir, 'filler'));
    await db.start();
  });
});
