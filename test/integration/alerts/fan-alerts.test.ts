/**
 * FAN_RPM and a stopped fan (issue 19): a fan at 0 RPM alerts when it has a minimum or was seen
 * turning, never for a header with nothing plugged in; an evaluator that restarts (and has seen no
 * fan turn) keeps the open alert on a dead fan until it turns again. Real database and evaluator.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertEvaluator, createNotifier, type AlertEvaluator } from '../../../src/alerts/index.ts';
import { fanStatus } from '../../../src/collectors/sensor-collector.ts';
import { createSecretBox } from '../../../src/db/secrets.ts';
import { createLogger } from '../../../src/log.ts';
import { writeBatch } from '../../../src/storage/index.ts';
import { emptyBatch, type SensorReadingRow } from '../../../src/storage/types.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';

let app: TestApp;
let evaluator: AlertEvaluator;
let clock = new Date(Date.now() - 3_600_000);
const log = createLogger('silent');
const secrets = createSecretBox(randomBytes(32));

function start(): Promise<void> {
  const notifier = createNotifier({ db: app.db, secrets, log, baseDelayMs: 5, now: () => clock, allowPrivateNetworks: true });
  evaluator = createAlertEvaluator({ db: app.db, events: app.services.events, log, secrets, notifier, now: () => clock, tuning: { tickMs: 0, builtins: false } });
  return evaluator.start();
}

/** One sensors poll of the nas: fan1 on a header without a minimum, fan2 with none plugged in. */
async function poll(fan1: number, fan2 = 0): Promise<void> {
  clock = new Date(clock.getTime() + 60_000);
  const fan = (n: number, rpm: number): SensorReadingRow => ({ time: clock, deviceId: 'nas', sensor: `hwmon1/fan${n}`, chip: 'it8613', kind: 'FAN', label: `fan${n}`, value: rpm, min: null, max: null, crit: null, status: fanStatus({ rpm, minRpm: null }) });
  const b = emptyBatch();
  b.sensors.push(fan(1, fan1), fan(2, fan2));
  await writeBatch(app.db.prisma, b);
  evaluator.onBatchWritten(b);
  await evaluator.idle();
}

const alerts = async () => (await app.db.prisma.alert.findMany({ orderBy: { pendingSince: 'asc' } })).map((a) => `${a.subject} ${a.state} ${a.value}`);

beforeAll(async () => {
  app = await startTestApp();
  await app.db.prisma.device.create({ data: { id: 'nas', name: 'nas', hostname: 'nas.lan', username: 'mon' } });
  await app.db.prisma.alertRule.create({ data: { name: 'Fan stopped', metric: 'FAN_RPM', comparator: 'LTE', threshold: 0 } });
  await start();
});

afterAll(async () => {
  await evaluator?.stop();
  await app?.close();
});

describe('stopped fans', () => {
  it('an empty header never alerts; a fan that turned and stopped does, across a restart, until it turns again', async () => {
    await poll(0);
    expect(await alerts()).toEqual([]); // neither has turned, neither has a minimum
    await poll(1200);
    await poll(0);
    expect(await alerts()).toEqual(['it8613/fan1 FIRING 0']);
    await evaluator.stop();
    await start(); // a new evaluator has seen no fan turn: fan1 is still reported, so its alert stays open
    await poll(0);
    expect(await alerts()).toEqual(['it8613/fan1 FIRING 0']);
    await poll(1150);
    expect(await alerts()).toEqual(['it8613/fan1 RESOLVED 1150']);
  });
});
