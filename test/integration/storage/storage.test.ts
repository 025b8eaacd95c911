/**
 * The storage layer against real PostgreSQL (embedded, or TEST_DATABASE_URL's server):
 * exact round trips, big and replayed batches, latest rows for many devices, bucketed
 * history against hand-computed values, and the plain-PostgreSQL retention sweep.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../../../src/log.ts';
import {
  defaultBucketSeconds,
  effectiveBucketSeconds,
  latestRows,
  MAX_POINTS,
  systemHistory,
  planOf,
  writeBatch,
  writeTables,
  type FilesystemRow,
  type SystemMetricsRow,
} from '../../../src/storage/index.ts';
import { writeCheckResults } from '../../../src/storage/checks.ts';
import { applyRetention } from '../../../src/storage/retention.ts';
import { closePool, createPool, transactionsWaiting } from '../../../src/db/adapter.ts';
import { createPrismaClient, PrismaClient } from '../../../src/db/index.ts';
import { batchSequences } from '../../../src/storage/index.ts';
import { TABLES, type TableSpec } from '../../../src/storage/tables.ts';
import { parseRealArray } from '../../../src/storage/latest.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { batchOf, collectedDriveRow, containerRow, craftedSmartctl, driveRow, filesystemRow, fullPoll, hardwarePoll, random, systemRow } from '../../helpers/rows.ts';
import { driveAttributes, driveCounters } from '../../../src/collectors/drives.ts';
import { decodeBatch, encodeBatch } from '../../../src/poller/spool.ts';
import { createWriter } from '../../../src/poller/writer.ts';
import { purgeDeviceHistory, subjectHistory } from '../../../src/storage/series.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.close());

const log = createLogger('silent');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const count = async (table: string, deviceId?: string): Promise<number> => {
  const { rows } = deviceId
    ? await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE device_id = $1`, [deviceId])
    : await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]?.n ?? -1;
};

/** A pool of one connection and a Prisma client on it, closed after `fn`; `onConnect` sees the connection first. */
async function onOneConnection(fn: (prisma: PrismaClient, pool: pg.Pool) => Promise<void>, onConnect?: (client: pg.PoolClient) => void): Promise<void> {
  const pool = createPool(db.url, { max: 1 });
  if (onConnect) pool.on('connect', onConnect);
  const prisma = createPrismaClient(pool);
  try {
    await fn(prisma, pool);
  } finally {
    await prisma.$disconnect();
    await closePool(pool);
  }
}

/** Calls `seen` with the first word of every statement the client is asked to run, as it is asked. */
function watchStatements(client: pg.PoolClient, seen: (statement: string) => void): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0] as string | { text?: string } | undefined;
    seen((typeof first === 'string' ? first : (first?.text ?? '')).trim().split(/\s+/)[0]!.toUpperCase());
    return query(...args);
  };
}
const bySubject = <T>(rows: T[], key: (r: T) => string) => [...rows].sort((a, b) => key(a).localeCompare(key(b)));

describe('writeBatch', () => {
  test('every table round-trips exactly: bigints past 2^31, 2^32 and up to 2^53-1, nulls, real[], jsonb, optional times', async () => {
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - HOUR + 123);
    const poll = fullPoll('roundtrip', time);
    expect(await writeBatch(db.prisma, poll)).toBe(11);
    expect(await latestRows(db.pool, 'system', ['roundtrip'])).toEqual(poll.system.map((r) => ({ ...r, seq: expect.any(Number) })));
    expect(await latestRows(db.pool, 'filesystems', ['roundtrip'])).toEqual(bySubject(poll.filesystems, (r) => r.mount));
    expect(await latestRows(db.pool, 'networks', ['roundtrip'])).toEqual(bySubject(poll.networks, (r) => r.interface));
    expect(await latestRows(db.pool, 'diskIo', ['roundtrip'])).toEqual(bySubject(poll.diskIo, (r) => r.disk));
    expect(await latestRows(db.pool, 'drives', ['roundtrip'])).toEqual(bySubject(poll.drives, (r) => r.drive));
    expect(await latestRows(db.pool, 'containers', ['roundtrip'])).toEqual(bySubject(poll.containers, (r) => r.containerId));
    // Beyond what the mapping back could paper over: the stored SQL values themselves.
    const { rows } = await db.pool.query<{ net: string; cores: string; attrs: string; started: string }>(
      `SELECT n.rx_bytes_total::text AS net, s.core_percents::text AS cores, d.attributes->>'note' AS attrs, c.started_at::text AS started
         FROM network_metrics n, system_metrics s, drive_health d, container_snapshots c
        WHERE n.device_id = 'roundtrip' AND n.interface = 'eth0' AND s.device_id = 'roundtrip'
          AND d.device_id = 'roundtrip' AND d.drive = '/dev/sda' AND c.device_id = 'roundtrip' AND c.container_id = 'a1b2c3'`,
    );
    expect(rows).toEqual([{ net: String(2 ** 53 - 1), cores: '{0.5,99.75,12.25}', attrs: 'quote " and \\ backslash, unicode é', started: expect.stringMatching(/^2025-01-02 \d\d:04:06\.001/) }]);
  });

  test('times keep their milliseconds exactly (no float rounding on the way in)', async () => {
    const rand = random(3);
    const base = Date.UTC(2026, 0, 1);
    const rows = Array.from({ length: 2000 }, (_, i) => systemRow('millis', new Date(base + i * 60_000 + Math.floor(rand() * 1000))));
    rows.push(systemRow('millis', new Date(base - 1)), systemRow('millis', new Date(Date.UTC(2099, 11, 31, 23, 59, 59, 999))));
    await writeBatch(db.prisma, batchOf({ system: rows }));
    const stored = await db.pool.query<{ ms: string }>(
      "SELECT (extract(epoch FROM time) * 1000)::bigint::text AS ms FROM system_metrics WHERE device_id = 'millis' AND extract(microseconds FROM time)::bigint % 1000 = 0 ORDER BY time",
    );
    expect(stored.rows.map((r) => Number(r.ms))).toEqual(rows.map((r) => r.time.getTime()).sort((a, b) => a - b));
  });

  test('per-core percentages are stored as real: exact for float4 values, else the nearest float4', async () => {
    const time = new Date(Date.now() - HOUR);
    await writeBatch(db.prisma, batchOf({ system: [systemRow('cores', time, { corePercents: [12.3, 33.333333, 100, 0] })] }));
    const [row] = await latestRows(db.pool, 'system', ['cores']);
    expect(row?.corePercents.map((v) => Math.fround(v))).toEqual([12.3, 33.333333, 100, 0].map((v) => Math.fround(v)));
    await writeBatch(db.prisma, batchOf({ system: [systemRow('no-cores', time, { corePercents: [] })] }));
    expect((await latestRows(db.pool, 'system', ['no-cores']))[0]?.corePercents).toEqual([]);
  });

  test('real[] as PostgreSQL prints it reads as pg\'s own parser reads it (latestRows parses it itself)', async () => {
    const { rows } = await db.pool.query<{ text: string; parsed: (number | null)[] }>(
      `SELECT a::text AS text, a AS parsed FROM (VALUES ('{}'::real[]), ('{1.5}'), ('{12.3,33.333333,100,0}'), ('{NULL,-3e-05,1e+20,-0}'), ('{NaN,Infinity,-Infinity}')) v(a)`,
    );
    expect(rows.map((r) => r.text)).toContain('{NaN,Infinity,-Infinity}');
    for (const { text, parsed } of rows) expect(parseRealArray(text), text).toEqual(parsed);
  });

  test('a 50,000-row batch (ten statement chunks and more) is stored whole', async () => {
    const rand = random(11);
    const base = Date.now() - 2 * DAY;
    const system: SystemMetricsRow[] = [];
    const filesystems: FilesystemRow[] = [];
    for (let i = 0; i < 40_000; i++) system.push(systemRow(`bulk-${i % 40}`, new Date(base + Math.floor(i / 40) * 60_000), { cpuPercent: rand() * 100 }));
    for (let i = 0; i < 10_000; i++) {
      filesystems.push({ time: new Date(base + Math.floor(i / 4) * 60_000), deviceId: 'bulk-fs', mount: `/m${i % 4}`, filesystem: 'x', fsType: null, sizeBytes: 2 ** 40, usedBytes: i, availableBytes: 2 ** 40 - i, usedPercent: 0 });
    }
    const t0 = performance.now();
    expect(await writeBatch(db.prisma, batchOf({ system, filesystems }))).toBe(50_000);
    console.info(`50,000-row batch written in ${Math.round(performance.now() - t0)} ms`);
    const { rows } = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM system_metrics WHERE device_id LIKE 'bulk-%'");
    expect(rows[0]?.n).toBe(40_000);
    expect(await count('filesystem_metrics', 'bulk-fs')).toBe(10_000);
  });

  test('a batch is one transaction: a bad row in a later chunk stores nothing', async () => {
    const time = Date.now() - 3 * DAY;
    const system = Array.from({ length: 12_000 }, (_, i) => systemRow('atomic', new Date(time + i * 1000)));
    const bad = { ...systemRow('atomic', new Date(time - 1000)), load1: null } as unknown as SystemMetricsRow; // NOT NULL column
    await expect(writeBatch(db.prisma, batchOf({ system: [...system, bad] }))).rejects.toThrow();
    expect(await count('system_metrics', 'atomic')).toBe(0);
  });

  test('replaying a batch stores each row once; a batch overlapping stored rows adds only the new ones', async () => {
    const t = Date.now() - 4 * DAY;
    const first = batchOf({
      system: [systemRow('replay', new Date(t)), systemRow('replay', new Date(t + 60_000))],
      containers: fullPoll('replay', new Date(t)).containers,
    });
    expect(await writeBatch(db.prisma, first)).toBe(4);
    expect(await writeBatch(db.prisma, first)).toBe(0);
    const overlapping = batchOf({ system: [systemRow('replay', new Date(t + 60_000)), systemRow('replay', new Date(t + 120_000)), systemRow('replay', new Date(t + 120_000))] });
    expect(await writeBatch(db.prisma, overlapping)).toBe(1);
    expect(await count('system_metrics', 'replay')).toBe(3);
    expect(await count('container_snapshots', 'replay')).toBe(2);
  });

  // COPY's text format gives a backslash, tab, newline and carriage return a meaning, and \N is its NULL.
  const NASTY = ['tab\there', 'new\nline', 'cr\rlf\r\n', 'back\\slash', 'ends in \\', '\\N', '\\.', '\\t literal', 'quotes \' " `', 'NULL', '', ' lead and trail ', 'ünïcødé ✓ 日本語 🐳', '{"a":1}', 'comma, semi; pipe|'];

  test('text, jsonb, NULL and empty strings come back exactly: COPY escaping of tabs, newlines, backslashes, quotes, unicode', async () => {
    const time = new Date(Date.now() - 5 * DAY + 7);
    const containers = NASTY.map((name, i) => containerRow('nasty', time, name, { containerId: `c${i}:${name}`, image: name, health: i % 2 ? null : name, createdAt: i % 3 ? null : new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)) }));
    const filesystems = NASTY.map((mount, i) => filesystemRow('nasty', time, `/mnt/${mount}#${i}`, { filesystem: mount, fsType: i % 2 ? null : mount }));
    const attributes = { names: NASTY, nested: { 'key\twith\ttabs': 'v\\al', emoji: '🐳' }, nil: null };
    const drives = [driveRow('nasty', time, '/dev/disk/by-id/ata-WDC\tX\\y', { model: NASTY.join('|'), attributes, error: 'line1\nline2' })];
    expect(await writeBatch(db.prisma, batchOf({ containers, filesystems, drives }))).toBe(NASTY.length * 2 + 1);
    const stored = await latestRows(db.pool, 'containers', ['nasty']);
    expect(bySubject(stored, (r) => r.containerId)).toEqual(bySubject(containers, (r) => r.containerId));
    expect(bySubject(await latestRows(db.pool, 'filesystems', ['nasty']), (r) => r.mount)).toEqual(bySubject(filesystems, (r) => r.mount));
    expect(await latestRows(db.pool, 'drives', ['nasty'])).toEqual(drives);
    // In SQL, not only through the mapping back: an empty string is not NULL, the jsonb is structured.
    const { rows } = await db.pool.query<{ empty: number; nulls: number; key: string; tabs: string }>(
      `SELECT (SELECT count(*)::int FROM container_snapshots WHERE device_id = 'nasty' AND name = '') AS empty,
              (SELECT count(*)::int FROM container_snapshots WHERE device_id = 'nasty' AND health IS NULL) AS nulls,
              (SELECT attributes->'names'->>5 FROM drive_health WHERE device_id = 'nasty') AS key,
              (SELECT attributes->'nested'->>E'key\twith\ttabs' FROM drive_health WHERE device_id = 'nasty') AS tabs`,
    );
    expect(rows).toEqual([{ empty: 1, nulls: Math.floor(NASTY.length / 2), key: '\\N', tabs: 'v\\al' }]);
  });

  test('values that cross the COPY buffers\' 64 KB boundaries, or are larger than one, come back exactly', async () => {
    const time = new Date(Date.now() - 5 * DAY + 11);
    // Multi-byte text of odd lengths, so boundaries fall inside values, inside characters and between rows.
    const containers = Array.from({ length: 400 }, (_, i) => containerRow('blocks', time, `ünïcødé ✓ 🐳 ${'x'.repeat(i * 7)}`, { containerId: `c${i}` }));
    const attributes = { big: 'é'.repeat(150_000), list: Array.from({ length: 5_000 }, (_, i) => i) };
    const drives = [driveRow('blocks', time, '/dev/sda', { attributes })];
    expect(await writeBatch(db.prisma, batchOf({ containers, drives }))).toBe(401);
    expect(bySubject(await latestRows(db.pool, 'containers', ['blocks']), (r) => r.containerId)).toEqual(bySubject(containers, (r) => r.containerId));
    expect(await latestRows(db.pool, 'drives', ['blocks'])).toEqual(drives);
  });

  // Issue 16: the API documents attributesJson as smartctl's output kept verbatim; a parse and re-stringify rewrote 1.50 and 2^53+ integers.
  test('a collected drive row stores smartctl\'s output as smartctl printed it: through COPY, the JSON fallback, and a spool replay', async () => {
    const text = craftedSmartctl();
    const time = new Date(Date.now() - 7 * DAY);
    const pool = createPool(db.url, { max: 2 });
    const noCopy = createPrismaClient(pool, { copyFromStdin: false });
    try {
      expect(await writeBatch(db.prisma, batchOf({ drives: [collectedDriveRow('verbatim-copy', time, text)] }))).toBe(1);
      expect(await writeBatch(noCopy, batchOf({ drives: [collectedDriveRow('verbatim-json', time, text)] }))).toBe(1);
      const spooled = decodeBatch(encodeBatch(batchOf({ drives: [collectedDriveRow('verbatim-spool', time, text)] })));
      expect(await writeBatch(db.prisma, spooled)).toBe(1);
    } finally {
      await noCopy.$disconnect();
      await closePool(pool);
    }
    // jsonb keeps a number's digits (numeric): its text shows whether they were rewritten.
    const { rows } = await db.pool.query<{ device_id: string; stored: string; original: string; rate: string }>(
      `SELECT device_id, (attributes->'smartctl')::text AS stored, $1::jsonb::text AS original, attributes->'smartctl'->>'x_rate' AS rate
         FROM drive_health WHERE device_id LIKE 'verbatim-%' ORDER BY device_id`,
      [text],
    );
    expect(rows.map((r) => r.device_id)).toEqual(['verbatim-copy', 'verbatim-json', 'verbatim-spool']);
    for (const r of rows) {
      expect(r.rate).toBe('1.50');
      expect(r.stored).toContain('18446744073709551615');
      expect(r.stored).toBe(r.original);
    }
    const [stored] = await latestRows(db.pool, 'drives', ['verbatim-copy']);
    const live = collectedDriveRow('verbatim-copy', time, text);
    expect(driveCounters(stored!)).toEqual(driveCounters(live));
    expect(driveAttributes(stored!)?.healthReasons).toEqual(driveAttributes(live)?.healthReasons);
  });

  // PostgreSQL's jsonb cannot hold U+0000: the database refuses the batch holding such a row.
  test('smartctl output with \\u0000 in a string is refused by the database, as before issue 16: the writer drops that poll\'s batch, not the flush', async () => {
    const text = craftedSmartctl().replace('"x_rate": 1.50,', '"x_rate": 1.50,\n  "x_note": "a\\u0000b",');
    const time = new Date(Date.now() - 7 * DAY);
    const row = collectedDriveRow('nul-drive', time, text);
    expect(row.error).toBeNull(); // read fine; only the jsonb cannot take it
    await expect(writeBatch(db.prisma, batchOf({ drives: [row] }))).rejects.toThrow(/\\u0000|unicode/i);
    // As the poller writes: the coalesced flush fails, is retried batch by batch, and only the batch holding the row is lost.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-nul-'));
    const writer = createWriter({ prisma: db.prisma, log, spoolDir: dir, flushMs: 5 });
    try {
      const results = await Promise.all([
        writer.write(batchOf({ system: [systemRow('nul-neighbour', time)] })),
        writer.write(batchOf({ system: [systemRow('nul-drive', time)], drives: [row] })),
      ]);
      expect(results).toEqual(['committed', 'dropped']);
      expect(writer.stats().flushes).toBe(1);
    } finally {
      await writer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(await count('system_metrics', 'nul-neighbour')).toBe(1);
    expect(await count('system_metrics', 'nul-drive')).toBe(0);
    expect(await count('drive_health', 'nul-drive')).toBe(0);
  });

  test('without COPY FROM STDIN (createAdapter copyFromStdin: false) the staging tables load from JSON: the same rows come back', async () => {
    const pool = createPool(db.url, { max: 2 });
    const prisma = createPrismaClient(pool, { copyFromStdin: false });
    try {
      const time = new Date(Date.now() - 10 * DAY + 5);
      const poll = fullPoll('no-copy', time);
      poll.containers = NASTY.map((name, i) => containerRow('no-copy', time, name, { containerId: `c${i}:${name}` }));
      expect(await writeBatch(prisma, poll)).toBe(9 + NASTY.length);
      expect(await writeBatch(prisma, poll)).toBe(0);
      expect(await latestRows(db.pool, 'system', ['no-copy'])).toEqual(poll.system.map((r) => ({ ...r, seq: expect.any(Number) })));
      expect(await latestRows(db.pool, 'drives', ['no-copy'])).toEqual(bySubject(poll.drives, (r) => r.drive));
      expect(bySubject(await latestRows(db.pool, 'containers', ['no-copy']), (r) => r.containerId)).toEqual(bySubject(poll.containers, (r) => r.containerId));
    } finally {
      await prisma.$disconnect();
      await closePool(pool);
    }
  });

  test('a batch is one transaction across tables: a refused row in the last table stores nothing in the others', async () => {
    const time = new Date(Date.now() - 6 * DAY);
    const bad = { ...containerRow('atomic-x', time, 'x'), state: null } as unknown as ReturnType<typeof containerRow>; // NOT NULL column
    await expect(writeBatch(db.prisma, batchOf({ system: [systemRow('atomic-x', time)], filesystems: [filesystemRow('atomic-x', time, '/')], containers: [bad] }))).rejects.toThrow();
    expect(await count('system_metrics', 'atomic-x')).toBe(0);
    expect(await count('filesystem_metrics', 'atomic-x')).toBe(0);
    // The staging tables are empty again: the next write on the same connections stores only its own rows.
    expect(await writeBatch(db.prisma, batchOf({ system: [systemRow('atomic-x', new Date(time.getTime() + 1000))] }))).toBe(1);
    expect(await count('system_metrics', 'atomic-x')).toBe(1);
    expect(await count('filesystem_metrics', 'atomic-x')).toBe(0);
  });

  test('on one connection: a first write that fails (its staging tables rolled back) does not break the next; staging rows never leak into a later flush', async () => {
    await onOneConnection(async (prisma, pool) => {
      const time = Date.now() - 7 * DAY;
      const bad = { ...systemRow('one-conn', new Date(time)), load1: null } as unknown as SystemMetricsRow;
      await expect(writeBatch(prisma, batchOf({ system: [systemRow('one-conn', new Date(time + 1)), bad] }))).rejects.toThrow();
      for (let i = 0; i < 3; i++) {
        const batch = batchOf({ system: [systemRow('one-conn', new Date(time + 10 + i))], filesystems: [filesystemRow('one-conn', new Date(time + 10 + i), '/')] });
        expect(await writeBatch(prisma, batch)).toBe(2);
        expect(batchSequences(batch)?.system.get(`one-conn ${time + 10 + i}`)).toEqual(expect.any(Number));
      }
      expect(await count('system_metrics', 'one-conn')).toBe(3);
      expect(await count('filesystem_metrics', 'one-conn')).toBe(3);
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM staging_system_metrics');
      expect(rows[0]?.n).toBe(0);
    });
  });

  test('a flush sends one INSERT for all its tables, after one COPY per table with rows, and every table gets its answer', async () => {
    const statements: string[] = [];
    await onOneConnection(async (prisma) => {
      const time = new Date(Date.now() - 9 * DAY);
      const batch = fullPoll('one-insert', time);
      await writeBatch(prisma, batchOf({ system: [systemRow('one-insert', new Date(time.getTime() - 1000))] })); // the connection's staging tables exist from here on
      statements.length = 0;
      const tables = Object.values(batch).filter((rows) => rows.length > 0).length;
      expect(tables).toBeGreaterThan(3);
      expect(await writeBatch(prisma, batch)).toBe(Object.values(batch).reduce((n, rows) => n + rows.length, 0));
      expect(statements.filter((s) => s === 'COPY')).toHaveLength(tables);
      expect(statements.filter((s) => s === 'WITH' || s === 'INSERT')).toHaveLength(1);
      const seqs = batchSequences(batch)!;
      for (const [kind, rows] of Object.entries(batch)) if (rows.length > 0) expect(seqs[kind as keyof typeof seqs].get(`one-insert ${time.getTime()}`), kind).toEqual(expect.any(Number));
    }, (client) => watchStatements(client, (statement) => statements.push(statement)));
  });

  test('each COPY reaches the server in one socket write, however many CopyData chunks it has (statement, rows and CopyDone together)', async () => {
    let writes = 0;
    // Writes per statement: the socket writes from one statement's start to the next's.
    const perStatement: { statement: string; writes: number }[] = [];
    await onOneConnection(async (prisma) => {
      const time = Date.now() - 9 * DAY;
      await writeBatch(prisma, batchOf({ system: [systemRow('one-write', new Date(time - HOUR))] })); // staging tables created
      perStatement.length = 0;
      // 4,500 rows: three CopyData chunks of at most 2,000.
      const rows = Array.from({ length: 4500 }, (_, i) => systemRow('one-write', new Date(time + i * 1000)));
      expect(await writeBatch(prisma, batchOf({ system: rows }))).toBe(4500);
      const copies = perStatement.filter((s) => s.statement === 'COPY');
      expect(copies).toHaveLength(1);
      // The COPY is followed by the INSERT, so its count is closed.
      expect(copies[0]!.writes).toBe(1);
    }, (client) => {
      const handle = (client as unknown as { connection: { stream: { _handle: Record<string, (...a: unknown[]) => unknown> } } }).connection.stream._handle;
      for (const m of ['writeBuffer', 'writev', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString']) {
        const write = handle[m]!;
        handle[m] = function (this: unknown, ...a: unknown[]) {
          writes++;
          return write.apply(this, a);
        };
      }
      watchStatements(client, (statement) => {
        const last = perStatement.at(-1);
        if (last) last.writes = writes - last.writes;
        perStatement.push({ statement, writes });
      });
    });
  });

  test('a COPY the server refuses at its statement fails the write, and the rows sent with it are ignored: the same connection writes next', async () => {
    await onOneConnection(async (prisma, pool) => {
      const plan = planOf(TABLES.system as TableSpec<unknown>);
      const rows = Array.from({ length: 4500 }, (_, i) => systemRow('copy-refused', new Date(Date.now() - 9 * DAY + i * 1000)));
      await expect(writeTables(prisma, [{ plan: { ...plan, copy: plan.copy.replace(/^COPY \S+/, 'COPY no_such_staging') }, rows }])).rejects.toThrow(/no_such_staging/);
      expect((await writeTables(prisma, [{ plan, rows }]))[0]!.n).toBe(4500);
      expect(pool.totalCount).toBe(1);
      expect(await count('system_metrics', 'copy-refused')).toBe(4500);
    });
  });

  test('a row the COPY cannot encode (int4 out of range, in a later chunk) fails the whole write with its reason, and the connection goes on working', async () => {
    await onOneConnection(async (prisma) => {
      const time = Date.now() - 8 * DAY;
      const system = Array.from({ length: 5000 }, (_, i) => systemRow('unencodable', new Date(time + i * 1000)));
      const bad = { ...systemRow('unencodable', new Date(time - 1000)), cpuCount: 2 ** 40 };
      await expect(writeBatch(prisma, batchOf({ system: [...system, bad] }))).rejects.toThrow(/not a valid int4/);
      expect(await count('system_metrics', 'unencodable')).toBe(0);
      expect(await writeBatch(prisma, batchOf({ system: system.slice(0, 3) }))).toBe(3);
      expect(await count('system_metrics', 'unencodable')).toBe(3);
    });
  });

  test('concurrent writes, each on its own connection, store each row once with distinct sequence numbers', async () => {
    const time = Date.now() - 8 * DAY;
    const batches = Array.from({ length: 6 }, (_, b) => batchOf({ system: Array.from({ length: 500 }, (_, i) => systemRow(`conc-${b}`, new Date(time + i * 1000))) }));
    expect(await Promise.all(batches.map((b) => writeBatch(db.prisma, b)))).toEqual(batches.map(() => 500));
    const seqs = batches.flatMap((b) => [...batchSequences(b)!.system.values()]);
    expect(new Set(seqs).size).toBe(3000);
    const { rows } = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM system_metrics WHERE device_id LIKE 'conc-%'");
    expect(rows[0]?.n).toBe(3000);
  });

  test('writes queued for the one pool connection each get their own transaction; afterwards none waits and no promise carries an async context', async () => {
    const time = Date.now() - 8 * DAY;
    const batches = Array.from({ length: 5 }, (_, b) => batchOf({ system: Array.from({ length: 50 }, (_, i) => systemRow(`queued-${b}`, new Date(time + i * 1000))) }));
    await onOneConnection(async (prisma) => {
      expect(await Promise.all(batches.map((b) => writeBatch(prisma, b)))).toEqual(batches.map(() => 50));
    });
    expect(new Set(batches.flatMap((b) => [...batchSequences(b)!.system.values()])).size).toBe(250);
    expect(transactionsWaiting()).toBe(0);
    // An enabled AsyncLocalStorage stamps every new promise with its store (a symbol key): the slot is switched off again.
    expect(Object.getOwnPropertySymbols(Promise.resolve())).toEqual([]);
    // A database that is not there: the transaction never starts, and it stops waiting all the same.
    const pool = createPool('postgresql://postgres@127.0.0.1:1/nowhere', { max: 1 });
    const prisma = createPrismaClient(pool);
    try {
      await expect(writeBatch(prisma, batches[0]!)).rejects.toThrow();
    } finally {
      await prisma.$disconnect();
      await closePool(pool);
    }
    expect(transactionsWaiting()).toBe(0);
    expect(Object.getOwnPropertySymbols(Promise.resolve())).toEqual([]);
  });

  test('a connection killed mid-flush (after its COPY, during its INSERT) fails the write, stores nothing, and the retry stores every row once', async () => {
    const time = Date.now() - 9 * DAY;
    const batch = batchOf({ system: Array.from({ length: 300 }, (_, i) => systemRow('killed', new Date(time + i * 1000))), filesystems: [filesystemRow('killed', new Date(time), '/')] });
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE filesystem_metrics IN EXCLUSIVE MODE');
      const write = writeBatch(db.prisma, batch);
      write.catch(() => undefined);
      // The flush has copied its staging tables; its INSERT (one statement for both tables) waits for the lock on filesystem_metrics.
      // (pg_stat_activity keeps the first 1 KB of a statement: the INSERT INTO filesystem_metrics part is further in.)
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        const { rows } = await db.pool.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'WITH i0 AS (INSERT INTO%'");
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      expect(pid).toEqual(expect.any(Number));
      await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
      await expect(write).rejects.toThrow();
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    // The killed connection went back to the pool (which dropped it): none is left checked out.
    expect(db.pool.totalCount - db.pool.idleCount).toBe(0);
    expect(await count('system_metrics', 'killed')).toBe(0);
    expect(await writeBatch(db.prisma, batch)).toBe(301);
    expect(await writeBatch(db.prisma, batch)).toBe(0);
    expect(await count('system_metrics', 'killed')).toBe(300);
    expect(await count('filesystem_metrics', 'killed')).toBe(1);
  });

  test('an empty batch writes nothing and does not touch the database', async () => {
    expect(await writeBatch(db.prisma, batchOf({}))).toBe(0);
  });
});

describe('latestRows', () => {
  test('one query returns the latest sample of each of 300 devices; a device without rows gives nothing', async () => {
    const now = Date.now();
    const devices = Array.from({ length: 300 }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
    const system = devices.flatMap((deviceId, i) => [3, 1, 2].map((k) => systemRow(deviceId, new Date(now - k * 60_000 - i), { load1: k, processCount: i })));
    await writeBatch(db.prisma, batchOf({ system }));
    const latest = await latestRows(db.pool, 'system', [...devices, 'fleet-none']);
    expect(latest).toHaveLength(300);
    const byDevice = new Map(latest.map((r) => [r.deviceId, r]));
    devices.forEach((deviceId, i) => {
      expect(byDevice.get(deviceId)).toMatchObject({ time: new Date(now - 60_000 - i), load1: 1, processCount: i });
    });
    expect(await latestRows(db.pool, 'system', ['fleet-none'])).toEqual([]);
    expect(await latestRows(db.pool, 'system', [])).toEqual([]);
  });

  test('per-subject tables give every row of the latest poll only: a mount gone since then is gone', async () => {
    const t1 = new Date(Date.now() - 2 * HOUR);
    const t2 = new Date(Date.now() - HOUR);
    const fs = (time: Date, deviceId: string, mount: string, used: number): FilesystemRow => ({ time, deviceId, mount, filesystem: mount, fsType: 'ext4', sizeBytes: 100, usedBytes: used, availableBytes: 100 - used, usedPercent: used });
    await writeBatch(db.prisma, batchOf({
      filesystems: [fs(t1, 'subj-a', '/', 10), fs(t1, 'subj-a', '/old', 20), fs(t2, 'subj-a', '/', 11), fs(t2, 'subj-a', '/data', 30), fs(t1, 'subj-b', '/', 40)],
    }));
    const latest = await latestRows(db.pool, 'filesystems', ['subj-a', 'subj-b', 'subj-none']);
    expect(latest.map((r) => [r.deviceId, r.mount, r.usedBytes, r.time])).toEqual([
      ['subj-a', '/', 11, t2],
      ['subj-a', '/data', 30, t2],
      ['subj-b', '/', 40, t1],
    ]);
  });

  test('per-subject rows older than the lookback are not "latest"', async () => {
    const old = new Date(Date.now() - 40 * DAY);
    await writeBatch(db.prisma, batchOf({ drives: fullPoll('stale', old).drives, containers: fullPoll('stale', old).containers }));
    expect(await latestRows(db.pool, 'drives', ['stale'])).toEqual([]);
    expect(await latestRows(db.pool, 'containers', ['stale'], 30)).toEqual([]);
    expect(await latestRows(db.pool, 'containers', ['stale'], 45)).toHaveLength(2);
  });
});

describe('systemHistory', () => {
  // A Wednesday at midnight UTC: a 5-minute and 1-hour boundary, but not a 7-minute one.
  const from = new Date('2026-01-07T00:00:00.000Z');
  const to = new Date('2026-01-07T01:00:00.000Z');
  const at = (hms: string) => new Date(`2026-01-07T${hms}Z`);

  beforeAll(async () => {
    await writeBatch(db.prisma, batchOf({
      system: [
        systemRow('hist', new Date(from.getTime() - 1), { cpuPercent: 999, load1: 999 }), // before from: excluded
        systemRow('hist', at('00:00:00.000'), { cpuPercent: 10, load1: 1, cpuStealPercent: null }), // at from: included
        systemRow('hist', at('00:04:59.999'), { cpuPercent: 20, load1: 3, cpuStealPercent: null }),
        systemRow('hist', at('00:05:00.000'), { cpuPercent: null, load1: 2, cpuStealPercent: null }),
        systemRow('hist', at('00:07:30.000'), { cpuPercent: 40, load1: 4, cpuStealPercent: 1 }),
        systemRow('hist', at('00:22:10.500'), { cpuPercent: 5, load1: 0.5, cpuStealPercent: 3 }),
        systemRow('hist', at('00:59:59.999'), { cpuPercent: 7, load1: 6, cpuStealPercent: 2 }),
        systemRow('hist', to, { cpuPercent: 999, load1: 999 }), // at to: excluded
        systemRow('hist-other', at('00:01:00.000'), { cpuPercent: 77, load1: 77 }), // another device
      ],
    }));
  });

  test('5-minute buckets: avg/min/max by hand, nulls ignored, empty buckets absent, from inclusive, to exclusive', async () => {
    const buckets = await systemHistory(db.pool, { deviceId: 'hist', from, to, bucketSeconds: 300 });
    expect(buckets.map((b) => [b.time.toISOString(), b.samples, b.cpuPercent, b.load1, b.cpuStealPercent])).toEqual([
      ['2026-01-07T00:00:00.000Z', 2, { avg: 15, min: 10, max: 20 }, { avg: 2, min: 1, max: 3 }, { avg: null, min: null, max: null }],
      ['2026-01-07T00:05:00.000Z', 2, { avg: 40, min: 40, max: 40 }, { avg: 3, min: 2, max: 4 }, { avg: 1, min: 1, max: 1 }],
      ['2026-01-07T00:20:00.000Z', 1, { avg: 5, min: 5, max: 5 }, { avg: 0.5, min: 0.5, max: 0.5 }, { avg: 3, min: 3, max: 3 }],
      ['2026-01-07T00:55:00.000Z', 1, { avg: 7, min: 7, max: 7 }, { avg: 6, min: 6, max: 6 }, { avg: 2, min: 2, max: 2 }],
    ]);
    // Columns not overridden are the same in every row.
    expect(buckets.every((b) => b.memUsedPercent.avg === 50 && b.diskWriteBytesPerSec.max === 4096)).toBe(true);
  });

  test('one bucket over the whole hour, and 7-minute buckets on TimescaleDB\'s origin (2000-01-03)', async () => {
    const hour = await systemHistory(db.pool, { deviceId: 'hist', from, to, bucketSeconds: 3600 });
    expect(hour.map((b) => [b.time.toISOString(), b.samples, b.cpuPercent, b.load1])).toEqual([
      ['2026-01-07T00:00:00.000Z', 6, { avg: (10 + 20 + 40 + 5 + 7) / 5, min: 5, max: 40 }, { avg: (1 + 3 + 2 + 4 + 0.5 + 6) / 6, min: 0.5, max: 6 }],
    ]);
    // 2026-01-07 is 9501 days after 2000-01-03; 9501 * 86400 s mod 420 s = 180 s, so the
    // 7-minute grid crosses midnight 3 minutes into a bucket: boundaries at 23:57, 00:04, 00:11, …
    const seven = await systemHistory(db.pool, { deviceId: 'hist', from, to, bucketSeconds: 420 });
    expect(seven.map((b) => [b.time.toISOString(), b.samples, b.cpuPercent.avg])).toEqual([
      ['2026-01-06T23:57:00.000Z', 1, 10],
      ['2026-01-07T00:04:00.000Z', 3, 30],
      ['2026-01-07T00:18:00.000Z', 1, 5],
      ['2026-01-07T00:53:00.000Z', 1, 7],
    ]);
  });

  test('a range with no rows, or a device with none, gives no buckets', async () => {
    expect(await systemHistory(db.pool, { deviceId: 'hist', from: to, to: new Date(to.getTime() + HOUR), bucketSeconds: 300 })).toEqual([
      expect.objectContaining({ time: to, samples: 1 }), // only the row at `to`, which that range starts with
    ]);
    expect(await systemHistory(db.pool, { deviceId: 'hist', from: new Date(to.getTime() + 1), to: new Date(to.getTime() + HOUR), bucketSeconds: 300 })).toEqual([]);
    expect(await systemHistory(db.pool, { deviceId: 'nobody', from, to, bucketSeconds: 300 })).toEqual([]);
  });

  test('effectiveBucketSeconds caps a series at MAX_POINTS, and the query honours it', async () => {
    expect(effectiveBucketSeconds(30 * 86_400, 10)).toBe(Math.ceil((30 * 86_400) / MAX_POINTS));
    expect(effectiveBucketSeconds(3600, 60)).toBe(60);
    expect(effectiveBucketSeconds(3600, undefined)).toBe(defaultBucketSeconds(3600));
    expect(defaultBucketSeconds(86_400)).toBe(300);
    expect(effectiveBucketSeconds(0, 0)).toBe(1);
    for (const range of [1, 59, 3600, 86_400, 7 * 86_400, 365 * 86_400, 3650 * 86_400]) {
      for (const requested of [undefined, 1, 7, 300]) expect(range / effectiveBucketSeconds(range, requested)).toBeLessThanOrEqual(MAX_POINTS);
    }
    // A sample every 10 s for a day asked for at 1-second buckets: at most MAX_POINTS come back.
    const start = new Date('2026-02-02T00:00:00.000Z').getTime();
    const rows = Array.from({ length: 8640 }, (_, i) => systemRow('dense', new Date(start + i * 10_000)));
    await writeBatch(db.prisma, batchOf({ system: rows }));
    const bucketSeconds = effectiveBucketSeconds(86_400, 1);
    const series = await systemHistory(db.pool, { deviceId: 'dense', from: new Date(start), to: new Date(start + DAY), bucketSeconds });
    expect(series.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(series.length).toBeGreaterThan(MAX_POINTS * 0.95);
    expect(series.reduce((n, b) => n + b.samples, 0)).toBe(8640);
  });
});

describe('pools, sensors and GPUs', () => {
  test('round-trip exactly, the latest poll only, bucketed history per sensor, retention and purge', async () => {
    // Five minutes past a 10-minute boundary: the two recent polls (2 and 1 minute earlier) share
    // one 600 s bucket. On the minute after a boundary they straddled it (a flake, 1 run in 10).
    const now = Math.floor(Date.now() / 600_000) * 600_000 - 300_000;
    const old = hardwarePoll('hw', new Date(now - 31 * DAY));
    const earlier = hardwarePoll('hw', new Date(now - 2 * 60_000));
    earlier.sensors[0]!.value = 60;
    const latest = hardwarePoll('hw', new Date(now - 60_000));
    latest.pools.pop();
    expect(await writeBatch(db.prisma, batchOf({ pools: [...old.pools, ...earlier.pools, ...latest.pools], sensors: [...old.sensors, ...earlier.sensors, ...latest.sensors], gpus: [...old.gpus, ...earlier.gpus, ...latest.gpus] }))).toBe(14);
    // md0 is not in the latest storage poll: gone, as an unmounted filesystem is.
    expect(await latestRows(db.pool, 'pools', ['hw'])).toEqual(latest.pools);
    expect(await latestRows(db.pool, 'sensors', ['hw'])).toEqual(latest.sensors);
    expect(await latestRows(db.pool, 'gpus', ['hw'])).toEqual(latest.gpus);
    const { rows } = await db.pool.query<{ note: string; write: string }>("SELECT devices->'devices'->0->'devices'->0->>'note' AS note, write_errors::text AS write FROM storage_pools WHERE device_id = 'hw' AND name = 'tank' ORDER BY time DESC LIMIT 1");
    expect(rows).toEqual([{ note: 'cannot open "quoted" \\ é', write: String(2 ** 33) }]);

    const series = await subjectHistory(db.pool, 'sensors', { deviceId: 'hw', from: new Date(now - 10 * 60_000), to: new Date(now), bucketSeconds: 600, subject: 'hwmon0/temp1' });
    expect(series).toHaveLength(1);
    expect(series[0]!.buckets).toEqual([expect.objectContaining({ samples: 2, stats: { value: { avg: 54.25, min: 48.5, max: 60 } }, last: { chip: 'coretemp', kind: 'TEMPERATURE', label: 'Package id 0', status: 'OK' } })]);

    const retention = applyRetention({ pool: db.pool, timescale: null }, { metrics: 30, drives: 365, containers: 30 }, log, { batchRows: 1000, pauseMs: 1 });
    expect(await retention.sweep()).toMatchObject({ storage_pools: 2, sensor_readings: 2, gpu_samples: 1 });
    expect(await purgeDeviceHistory(db.prisma, 'hw')).toMatchObject({ storage_pools: 3, sensor_readings: 4, gpu_samples: 2 });
  });
});

describe('retention on plain PostgreSQL', () => {
  test('a sweep deletes rows older than each table\'s days, in batches, and keeps the rest', async () => {
    const now = Date.now();
    const old = Array.from({ length: 2500 }, (_, i) => systemRow('ret', new Date(now - 31 * DAY - i * 1000)));
    const fresh = Array.from({ length: 10 }, (_, i) => systemRow('ret', new Date(now - 29 * DAY + i * 1000)));
    await writeBatch(db.prisma, batchOf({
      system: [...old, ...fresh],
      drives: [...fullPoll('ret', new Date(now - 366 * DAY)).drives, ...fullPoll('ret', new Date(now - 100 * DAY)).drives],
      containers: [...fullPoll('ret', new Date(now - 8 * DAY)).containers, ...fullPoll('ret', new Date(now - DAY)).containers],
    }));
    // Check results follow the metrics' days.
    const check = (days: number) => ({ time: new Date(now - days * DAY), deviceId: 'ret', checkId: 'backup', status: 'OK' as const, exitCode: 0, message: 'ok', values: {} });
    await writeCheckResults(db.prisma, [check(31), check(32), check(29)]);
    const deletedElsewhere = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM system_metrics WHERE device_id <> 'ret' AND time < now() - interval '30 days'");
    const retention = applyRetention({ pool: db.pool, timescale: null }, { metrics: 30, drives: 365, containers: 7 }, log, { batchRows: 1000, pauseMs: 1 });
    const deleted = await retention.sweep();
    expect(deleted).toEqual({
      system_metrics: 2500 + (deletedElsewhere.rows[0]?.n ?? 0),
      filesystem_metrics: 0,
      network_metrics: 0,
      disk_io_metrics: 0,
      drive_health: 2,
      container_snapshots: expect.any(Number),
      storage_pools: expect.any(Number),
      sensor_readings: expect.any(Number),
      gpu_samples: expect.any(Number),
      check_results: 2,
    });
    expect(await count('system_metrics', 'ret')).toBe(10);
    expect(await count('check_results', 'ret')).toBe(1);
    expect(await count('drive_health', 'ret')).toBe(2);
    expect(await count('container_snapshots', 'ret')).toBe(2);
    expect(await retention.sweep()).toMatchObject({ system_metrics: 0, drive_health: 0 });
  });

  test('start() sweeps at once and on its interval; stop() waits for the sweep in progress', async () => {
    const now = Date.now();
    await writeBatch(db.prisma, batchOf({ system: Array.from({ length: 30 }, (_, i) => systemRow('ret-timer', new Date(now - 90 * DAY - i * 1000))) }));
    const retention = applyRetention({ pool: db.pool, timescale: null }, { metrics: 30, drives: 365, containers: 30 }, log, { intervalMs: 50, batchRows: 7, pauseMs: 1 });
    await retention.start();
    const until = Date.now() + 10_000;
    while ((await count('system_metrics', 'ret-timer')) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(await count('system_metrics', 'ret-timer')).toBe(0);
    // Rows that turn old later are caught by a later sweep on the interval.
    await writeBatch(db.prisma, batchOf({ system: [systemRow('ret-timer', new Date(now - 90 * DAY))] }));
    while ((await count('system_metrics', 'ret-timer')) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(await count('system_metrics', 'ret-timer')).toBe(0);
    await retention.stop();
    await writeBatch(db.prisma, batchOf({ system: [systemRow('ret-timer', new Date(now - 90 * DAY))] }));
    await new Promise((r) => setTimeout(r, 200));
    expect(await count('system_metrics', 'ret-timer')).toBe(1); // stopped: no more sweeps
  });
});
