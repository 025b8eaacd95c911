/**
 * Drive baselines (issue 19 item 4, Scrutiny's most-asked feature): an operator acknowledges a
 * drive's error counters through GraphQL, and DRIVE_COUNTER_INCREASE then fires on a rise above
 * them instead of on any non-zero count. Real database, real evaluator, real webhook receiver.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertEvaluator, createNotifier, type AlertEvaluator } from '../../../src/alerts/index.ts';
import { createSecretBox } from '../../../src/db/secrets.ts';
import { createLogger } from '../../../src/log.ts';
import { emptyBatch, type DriveHealthRow } from '../../../src/storage/types.ts';
import { writeBatch } from '../../../src/storage/index.ts';
import { createApiToken } from '../../../src/tokens.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { driveRow } from '../../helpers/rows.ts';
import { startHttpReceiver, type HttpReceiver } from './receivers.ts';

let app: TestApp;
let hook: HttpReceiver;
let evaluator: AlertEvaluator;
let clock = new Date(Date.now() - 3_600_000);

/** A reading of the same drive, with ATA attribute 199 (CRC errors) in the stored smartctl output as the collector stores it. */
function reading(over: Partial<DriveHealthRow>, crc: number): DriveHealthRow {
  clock = new Date(clock.getTime() + 60_000);
  const smartctl = { ata_smart_attributes: { table: [{ id: 199, name: 'UDMA_CRC_Error_Count', raw: { value: crc } }] } };
  return driveRow('nas', clock, '/dev/sda', { serial: 'WD-1', health: 'WARNING', ...over, attributes: { smartctl, exitBits: [], healthReasons: [] } });
}

async function feed(row: DriveHealthRow): Promise<void> {
  const b = emptyBatch();
  b.drives.push(row);
  await writeBatch(app.db.prisma, b);
  evaluator.onBatchWritten(b);
  await evaluator.idle();
}

const openAlerts = () => app.db.prisma.alert.findMany({ where: { state: 'FIRING' }, include: { rule: true } });

beforeAll(async () => {
  app = await startTestApp();
  hook = await startHttpReceiver();
  await app.db.prisma.device.create({ data: { id: 'nas', name: 'nas', hostname: 'nas.lan', username: 'mon' } });
  const channel = await app.db.prisma.notificationChannel.create({ data: { name: 'hook', kind: 'WEBHOOK', url: hook.url } });
  await app.db.prisma.alertRule.create({ data: { name: 'Counters up', metric: 'DRIVE_COUNTER_INCREASE', comparator: 'GT', threshold: 0, channelIds: [channel.id] } });
  const log = createLogger('silent');
  const secrets = createSecretBox(randomBytes(32));
  const notifier = createNotifier({ db: app.db, secrets, log, baseDelayMs: 5, now: () => clock, allowPrivateNetworks: true });
  evaluator = createAlertEvaluator({ db: app.db, events: app.services.events, log, secrets, notifier, now: () => clock, tuning: { tickMs: 0, builtins: false } });
  await evaluator.start();
});

afterAll(async () => {
  await evaluator?.stop();
  await hook?.close();
  await app?.close();
});

const ACK = `mutation ($d: ID!, $drive: String!) { acknowledgeDriveCounters(deviceId: $d, drive: $drive) {
  __typename ... on DriveBaseline { drive acknowledgedBy counters { reallocatedSectors pendingSectors crcErrors } } ... on NotFoundError { message } } }`;

describe('drive baselines', () => {
  it('fires on old non-zero counters, stays quiet once they are acknowledged, fires again when one rises', async () => {
    await feed(reading({ reallocatedSectors: 304 }, 2));
    expect((await openAlerts()).map((a) => [a.rule.name, a.subject, a.value])).toEqual([['Counters up', 'WD-1', '306']]);

    const ack = await app.gql<{ acknowledgeDriveCounters: Record<string, unknown> }>(ACK, { d: 'nas', drive: 'WD-1' });
    expect(ack.body.errors).toBeUndefined();
    expect(ack.body.data!.acknowledgeDriveCounters).toEqual({ __typename: 'DriveBaseline', drive: 'WD-1', acknowledgedBy: 'test admin', counters: { reallocatedSectors: 304, pendingSectors: 0, crcErrors: 2 } });
    await evaluator.refresh();
    await feed(reading({ reallocatedSectors: 304 }, 2));
    expect(await openAlerts()).toEqual([]);

    await feed(reading({ reallocatedSectors: 304 }, 5)); // three more CRC errors: a cable going bad
    expect((await openAlerts()).map((a) => [a.subject, a.value])).toEqual([['WD-1', '3']]);
    expect(hook.requests.map((r) => (JSON.parse(r.body) as { state: string }).state)).toEqual(['FIRING', 'RESOLVED', 'FIRING']);
  });

  it('Drive shows what was acknowledged and how far the counters are above it; an unknown drive is NotFoundError', async () => {
    const res = await app.gql<{ device: { drives: { crcErrors: number; counterIncrease: number; acknowledged: { counters: { crcErrors: number } } }[] } }>(
      '{ device(id: "nas") { drives { crcErrors counterIncrease acknowledged { counters { crcErrors } } } } }',
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.device.drives).toEqual([{ crcErrors: 5, counterIncrease: 3, acknowledged: { counters: { crcErrors: 2 } } }]);
    const missing = await app.gql<{ acknowledgeDriveCounters: { __typename: string } }>(ACK, { d: 'nas', drive: 'nope' });
    expect(missing.body.data!.acknowledgeDriveCounters.__typename).toBe('NotFoundError');
  });

  it('a VIEWER cannot acknowledge', async () => {
    const { token: viewer } = await createApiToken(app.db.prisma, { name: 'viewer', role: 'VIEWER' });
    const res = await app.gql(ACK, { d: 'nas', drive: 'WD-1' }, viewer);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
