/**
 * Device rows over pg (src/db/devices.ts) are Prisma's rows: every field, same names, same
 * values and types, with every nullable field set, and timestamps read as UTC whatever the
 * process's time zone (pg's own parser would read Prisma's `timestamp(3)` as local time).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deviceCount, devicePage, deviceRows, type DeviceFilter, type DevicePage } from '../../../src/db/devices.ts';
import type { Prisma } from '../../../src/db/generated/client.ts';
import { createTestDatabase } from '../../helpers/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const tz = process.env.TZ;
beforeAll(async () => {
  // A zone far from UTC, so reading timestamps as local time would be hours off.
  process.env.TZ = 'Pacific/Kiritimati';
  db = await createTestDatabase();
});
afterAll(async () => {
  process.env.TZ = tz;
  await db?.close();
});

describe('deviceRows', () => {
  test('a row with every field set equals Prisma\'s, field for field', async () => {
    const credential = await db.prisma.credential.create({ data: { name: 'c', kind: 'PASSWORD', encryptedSecret: Buffer.from('x') } });
    const created = await db.prisma.device.create({
      data: {
        name: 'full',
        hostname: 'full.example',
        port: 2222,
        username: 'u',
        transport: 'LOCAL',
        status: 'DEGRADED',
        lastSeenAt: new Date('2026-11-30T23:59:58.123Z'),
        lastError: 'e',
        consecutiveFailures: 3,
        hostKeyFingerprint: 'SHA256:a',
        pendingHostKey: 'SHA256:b',
        tags: ['a', 'b c'],
        monitoringEnabled: false,
        sudoSmartctl: true,
        containerInterval: 1,
        systemInterval: 2,
        driveInterval: 3,
        storageInterval: 4,
        sensorInterval: 5,
        gpuInterval: 6,
        disabledCollectors: ['gpu'],
        collectorStates: { system: { state: 'OK', at: '2026-11-30T00:00:00Z' } },
        credentialId: credential.id,
        leaseOwner: 'me',
        leaseExpiresAt: new Date('2026-12-01T00:00:00.5Z'),
      },
    });
    const viaPrisma = await db.prisma.device.findUniqueOrThrow({ where: { id: created.id } });
    // Every nullable column set, so a field left out or misnamed cannot hide behind a null.
    expect(Object.entries(viaPrisma).filter(([, v]) => v === null)).toEqual([]);
    const [viaPg] = await deviceRows(db.pool, [created.id]);
    expect(viaPg).toStrictEqual(viaPrisma);
    expect(viaPg!.lastSeenAt!.toISOString()).toBe('2026-11-30T23:59:58.123Z');
  });

  test('rows come in the order of the ids asked for; unknown ids are left out', async () => {
    const ids: string[] = [];
    for (const name of ['n1', 'n2', 'n3']) ids.push((await db.prisma.device.create({ data: { name, hostname: `${name}.example` } })).id);
    const asked = [ids[2]!, 'no-such-device', ids[0]!, ids[1]!];
    expect((await deviceRows(db.pool, asked)).map((d) => d.name)).toEqual(['n3', 'n1', 'n2']);
    expect(await deviceRows(db.pool, [])).toEqual([]);
  });

  describe('devicePage and deviceCount answer as Prisma does', () => {
    const fleet: [string, string, string, string[], boolean][] = [
      ['alpha', 'alpha.example.com', 'ONLINE', ['prod', 'db'], true],
      ['Beta', 'beta.lan', 'OFFLINE', ['prod'], true],
      ['gamma_1', 'g1.example.com', 'DEGRADED', ['lab'], false],
      ['gammaX1', 'gx.example.com', 'ONLINE', [], true],
      ['delta%', 'delta.internal', 'DISABLED', ['prod', 'db', 'eu'], false],
      ['back\\slash', 'bs.lan', 'UNKNOWN', ['db'], true],
      ['épsilon', 'EPS.example.com', 'AUTH_FAILED', ['eu'], true],
    ];
    beforeAll(async () => {
      await db.prisma.device.deleteMany({});
      for (const [name, hostname, status, tags, monitoringEnabled] of fleet) await db.prisma.device.create({ data: { name, hostname, status: status as never, tags, monitoringEnabled } });
    });

    /** The filter as the device list gave it to Prisma before (src/graphql/types/devices.ts). */
    function prismaWhere(f: DeviceFilter): Prisma.DeviceWhereInput {
      const where: Prisma.DeviceWhereInput = {};
      if (f.statuses?.length) where.status = { in: [...f.statuses] as never };
      if (f.tags?.length) where.tags = { hasEvery: [...f.tags] };
      if (f.search) {
        const contains = f.search.replace(/[\\%_]/g, '\\$&');
        where.OR = [{ name: { contains, mode: 'insensitive' } }, { hostname: { contains, mode: 'insensitive' } }];
      }
      if (f.monitoringEnabled !== undefined) where.monitoringEnabled = f.monitoringEnabled;
      return where;
    }

    const filters: DeviceFilter[] = [
      {},
      { statuses: ['ONLINE', 'OFFLINE'] },
      { tags: ['prod'] },
      { tags: ['prod', 'db'] },
      { tags: ['nowhere'] },
      { search: 'EXAMPLE.COM' },
      { search: 'gamma_' },
      { search: '%' },
      { search: '_' },
      { search: 'k\\s' },
      { search: 'ÉPS' },
      { monitoringEnabled: false },
      { statuses: ['ONLINE'], tags: ['prod'], search: 'alpha', monitoringEnabled: true },
    ];
    const pages: DevicePage[] = [
      { limit: 100, descending: false },
      { limit: 2, descending: false },
      { limit: 100, descending: true },
      { after: 'beta', limit: 3, descending: false },
      { after: 'Beta', limit: 100, descending: false },
      { before: 'gamma_1', limit: 2, descending: true },
      { after: 'alpha', before: 'gammaX1', limit: 100, descending: false },
    ];

    test.each(filters)('filter %j: every page, and the count', async (filter) => {
      const where = prismaWhere(filter);
      for (const page of pages) {
        const name: Prisma.StringFilter = {};
        if (page.after !== undefined) name.gt = page.after;
        if (page.before !== undefined) name.lt = page.before;
        const expected = await db.prisma.device.findMany({ where: page.after || page.before ? { AND: [where, { name }] } : where, orderBy: { name: page.descending ? 'desc' : 'asc' }, take: page.limit });
        expect(await devicePage(db.pool, filter, page), JSON.stringify(page)).toStrictEqual(expected);
      }
      expect(await deviceCount(db.pool, filter)).toBe(await db.prisma.device.count({ where }));
    });

    test('the filters select something: the comparison is not between two empty lists', async () => {
      const counts = await Promise.all(filters.map((f) => deviceCount(db.pool, f)));
      // Only 'nowhere' must select nothing; 'ÉPS' does too where the database's ctype folds ASCII only.
      expect(counts.filter((n) => n > 0).length).toBeGreaterThanOrEqual(filters.length - 2);
      expect(counts[0]).toBe(fleet.length);
    });
  });
});
