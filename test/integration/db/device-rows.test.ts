/**
 * Device rows over pg (src/db/devices.ts) are Prisma's rows: every field, same names, same
 * values and types, with every nullable field set, and timestamps read as UTC whatever the
 * process's time zone (pg's own parser would read Prisma's `timestamp(3)` as local time).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deviceRows } from '../../../src/db/devices.ts';
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
});
