/**
 * The evaluator over a real database with real receivers: an HTTP server on loopback for
 * webhooks and an SMTP server for email. Time-based cases move an injected clock.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAlertEvaluator, createNotifier, type AlertEvaluator } from '../../../src/alerts/index.ts';
import { createSecretBox } from '../../../src/db/secrets.ts';
import { createEventBus, openEventBus, type AlertEventPayload, type EventBus } from '../../../src/events/index.ts';
import { createLogger } from '../../../src/log.ts';
import { emptyBatch, type FilesystemRow, type SampleBatch } from '../../../src/storage/types.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver } from './receivers.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const secrets = createSecretBox(randomBytes(32));
const log = createLogger('silent');
let clock = new Date('2026-11-27T10:00:00Z');
const now = () => clock;
const advance = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};

let hook: HttpReceiver;
let events: EventBus;
let changes: AlertEventPayload[];
let evaluator: AlertEvaluator | null = null;
let deviceId: string;
let channelId: string;
const HMAC_KEY = 'test-hmac-key';

function fsBatch(usedPercent: number, mount = '/', device = deviceId): SampleBatch {
  const b = emptyBatch();
  const row: FilesystemRow = { time: clock, deviceId: device, mount, filesystem: '/dev/sda1', fsType: 'ext4', sizeBytes: 100, usedBytes: usedPercent, availableBytes: 100 - usedPercent, usedPercent };
  b.filesystems.push(row);
  return b;
}

async function start(): Promise<AlertEvaluator> {
  // The receivers are on loopback: allowed here (ssrf.test.ts covers the default).
  const notifier = createNotifier({ db, secrets, log, baseDelayMs: 5, now, allowPrivateNetworks: true });
  evaluator = createAlertEvaluator({ db, events, log, secrets, notifier, now, tuning: { tickMs: 0, builtins: false } });
  await evaluator.start();
  return evaluator;
}

async function feed(e: AlertEvaluator, batch: SampleBatch): Promise<void> {
  e.onBatchWritten(batch);
  await e.idle();
}

async function rule(data: Partial<Parameters<typeof db.prisma.alertRule.create>[0]['data']> = {}) {
  return db.prisma.alertRule.create({
    data: { name: `disk ${Math.random()}`, metric: 'FILESYSTEM_USED_PERCENT', comparator: 'GT', threshold: 90, clearThreshold: 85, channelIds: [channelId], ...data },
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  hook = await startHttpReceiver();
});

afterAll(async () => {
  await hook.close();
  await db.close();
});

beforeEach(async () => {
  await db.prisma.notificationDelivery.deleteMany();
  await db.prisma.alert.deleteMany();
  await db.prisma.alertRule.deleteMany();
  await db.prisma.silence.deleteMany();
  await db.prisma.notificationChannel.deleteMany();
  await db.prisma.device.deleteMany();
  hook.requests.length = 0;
  events = createEventBus();
  changes = [];
  void (async () => {
    for await (const e of events.subscribe('alertChanged')) changes.push(e);
  })();
  deviceId = (await db.prisma.device.create({ data: { name: 'web-1', hostname: 'web-1.example', tags: ['prod'] } })).id;
  channelId = (await db.prisma.notificationChannel.create({ data: { name: 'hook', kind: 'WEBHOOK', url: `${hook.url}/hook`, encryptedSecret: new Uint8Array(secrets.encrypt(HMAC_KEY)) } })).id;
});

afterEach(async () => {
  await evaluator?.stop();
  evaluator = null;
});

const bodies = () => hook.requests.map((r) => JSON.parse(r.body) as { event: string; state: string; rule: { name: string }; device: { name: string }; subject: string; value: string });

describe('alert evaluation', () => {
  it('fires after forSeconds, with a webhook whose HMAC verifies', async () => {
    const r = await rule({ forSeconds: 60 });
    const e = await start();
    await feed(e, fsBatch(95));
    let alerts = await db.prisma.alert.findMany();
    expect(alerts.map((a) => [a.state, a.subject])).toEqual([['PENDING', '/']]);
    advance(30);
    await feed(e, fsBatch(96));
    expect(hook.requests).toHaveLength(0);
    advance(31);
    await feed(e, fsBatch(97));
    alerts = await db.prisma.alert.findMany();
    expect(alerts.map((a) => a.state)).toEqual(['FIRING']);
    expect(alerts[0]!.firedAt?.toISOString()).toBe(clock.toISOString());
    const [req] = await hook.waitFor(1);
    const body = JSON.parse(req!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ event: 'firing', state: 'FIRING', severity: 'WARNING', rule: { id: r.id, name: r.name, metric: 'FILESYSTEM_USED_PERCENT' }, device: { id: deviceId, name: 'web-1' }, subject: '/', value: '97' });
    const expected = `sha256=${createHmac('sha256', HMAC_KEY).update(req!.body).digest('hex')}`;
    expect(req!.headers['x-infrapulse-signature']).toBe(expected);
    expect(changes.map((c) => c.state)).toEqual(['PENDING', 'FIRING']);
    const deliveries = await db.prisma.notificationDelivery.findMany();
    expect(deliveries.map((d) => [d.attempt, d.ok])).toEqual([[1, true]]);
  });

  it('does not flap around the threshold and resolves below the clear threshold', async () => {
    await rule();
    const e = await start();
    for (const v of [92, 88, 91, 86, 95, 87, 93]) {
      await feed(e, fsBatch(v));
      advance(10);
    }
    expect(await db.prisma.alert.count()).toBe(1);
    expect(bodies().map((b) => b.event)).toEqual(['firing']);
    await feed(e, fsBatch(84));
    const [alert] = await db.prisma.alert.findMany();
    expect(alert?.state).toBe('RESOLVED');
    expect(alert?.resolvedAt).not.toBeNull();
    await hook.waitFor(2);
    expect(bodies().map((b) => [b.event, b.state, b.value])).toEqual([
      ['firing', 'FIRING', '92'],
      ['resolved', 'RESOLVED', '84'],
    ]);
    expect(changes.map((c) => c.state)).toEqual(['FIRING', 'RESOLVED']);
  });

  it('keeps one alert per mount', async () => {
    await rule();
    const e = await start();
    const b = fsBatch(95, '/');
    b.filesystems.push(...fsBatch(99, '/var').filesystems, ...fsBatch(10, '/home').filesystems);
    await feed(e, b);
    const alerts = await db.prisma.alert.findMany({ orderBy: { subject: 'asc' } });
    expect(alerts.map((a) => [a.subject, a.state])).toEqual([
      ['/', 'FIRING'],
      ['/var', 'FIRING'],
    ]);
    // /var unmounted: its alert resolves; / is still reported and still full.
    advance(10);
    await feed(e, fsBatch(95, '/'));
    const after = await db.prisma.alert.findMany({ orderBy: { subject: 'asc' } });
    expect(after.map((a) => [a.subject, a.state])).toEqual([
      ['/', 'FIRING'],
      ['/var', 'RESOLVED'],
    ]);
  });

  it('repeats after repeatSeconds while firing, on samples and on ticks, not once acknowledged', async () => {
    await rule({ repeatSeconds: 300 });
    const e = await start();
    await feed(e, fsBatch(95));
    advance(200);
    await feed(e, fsBatch(95));
    await e.tick();
    await e.idle();
    expect(bodies().map((b) => b.event)).toEqual(['firing']);
    advance(100);
    await feed(e, fsBatch(95));
    expect(bodies().map((b) => b.event)).toEqual(['firing', 'repeat']);
    advance(300);
    await e.tick();
    await e.idle();
    expect(bodies().map((b) => b.event)).toEqual(['firing', 'repeat', 'repeat']);
    await db.prisma.alert.updateMany({ data: { state: 'ACKNOWLEDGED' } });
    advance(600);
    await feed(e, fsBatch(95));
    expect(hook.requests).toHaveLength(3);
    advance(10);
    await feed(e, fsBatch(50));
    expect(bodies().map((b) => b.event)).toEqual(['firing', 'repeat', 'repeat', 'resolved']);
  });

  it('is silenced: the state changes, no notification goes out; after the silence the firing alert is notified', async () => {
    await rule();
    await db.prisma.silence.create({ data: { matchers: { tags: ['prod'] }, startsAt: new Date(clock.getTime() - 1000), endsAt: new Date(clock.getTime() + 3_600_000) } });
    const e = await start();
    await feed(e, fsBatch(95));
    expect((await db.prisma.alert.findMany()).map((a) => [a.state, a.lastNotifiedAt])).toEqual([['FIRING', null]]);
    expect(changes.map((c) => c.state)).toEqual(['FIRING']);
    advance(60);
    await feed(e, fsBatch(96));
    await new Promise((r) => setTimeout(r, 100));
    expect(hook.requests).toHaveLength(0);
    expect(await db.prisma.notificationDelivery.count()).toBe(0);
    advance(3600);
    await feed(e, fsBatch(97));
    expect(bodies().map((b) => [b.event, b.value])).toEqual([['firing', '97']]);
  });

  it('survives a restart: a new evaluator continues the open alert without re-notifying', async () => {
    await rule({ repeatSeconds: 3600 });
    const first = await start();
    await feed(first, fsBatch(95));
    await first.stop();
    evaluator = null;
    expect(hook.requests).toHaveLength(1);
    const [before] = await db.prisma.alert.findMany();

    advance(60);
    const second = await start();
    await feed(second, fsBatch(96));
    await feed(second, fsBatch(88));
    expect(await db.prisma.alert.count()).toBe(1);
    expect(hook.requests).toHaveLength(1);
    advance(3600);
    await feed(second, fsBatch(97));
    expect(bodies().map((b) => b.event)).toEqual(['firing', 'repeat']);
    await feed(second, fsBatch(80));
    const [after] = await db.prisma.alert.findMany();
    expect(after?.id).toBe(before?.id);
    expect(after?.state).toBe('RESOLVED');
    expect(bodies().map((b) => b.event)).toEqual(['firing', 'repeat', 'resolved']);
  });

  it('retries with backoff and logs every attempt; gives up after 3', async () => {
    await rule();
    const e = await start();
    hook.failNext(500, 503);
    await feed(e, fsBatch(95));
    expect(hook.requests).toHaveLength(3);
    const [alert] = await db.prisma.alert.findMany();
    const log1 = await db.prisma.notificationDelivery.findMany({ where: { alertId: alert!.id }, orderBy: { attempt: 'asc' } });
    expect(log1.map((d) => [d.attempt, d.ok])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(log1[0]?.error).toMatch(/answered 500/);

    hook.failNext(500, 500, 500);
    advance(10);
    await feed(e, fsBatch(50));
    const log2 = await db.prisma.notificationDelivery.findMany({ where: { alertId: alert!.id }, orderBy: { id: 'asc' } });
    expect(log2.slice(3).map((d) => [d.attempt, d.ok])).toEqual([
      [1, false],
      [2, false],
      [3, false],
    ]);
  });

  it('DEVICE_STATUS rules follow deviceStatusChanged events', async () => {
    await rule({ name: 'offline', metric: 'DEVICE_STATUS', comparator: 'EQ', threshold: null, clearThreshold: null, value: 'OFFLINE', severity: 'CRITICAL' });
    const e = await start();
    await events.publish('deviceStatusChanged', { deviceId, previous: 'ONLINE', current: 'OFFLINE', reason: 'timeout', at: clock.toISOString() });
    await new Promise((r) => setTimeout(r, 20));
    await e.idle();
    expect(bodies().map((b) => [b.event, b.value, b.rule.name])).toEqual([['firing', 'OFFLINE', 'offline']]);
    await events.publish('deviceStatusChanged', { deviceId, previous: 'OFFLINE', current: 'ONLINE', reason: null, at: clock.toISOString() });
    await new Promise((r) => setTimeout(r, 20));
    await e.idle();
    expect((await db.prisma.alert.findMany()).map((a) => a.state)).toEqual(['RESOLVED']);
  });

  it('ships the built-in rules once', async () => {
    const e = createAlertEvaluator({ db, events, log, secrets, now, tuning: { tickMs: 0 } });
    await e.start();
    await e.stop();
    const again = createAlertEvaluator({ db, events, log, secrets, now, tuning: { tickMs: 0 } });
    await again.start();
    await again.stop();
    const builtins = await db.prisma.alertRule.findMany({ where: { builtin: true }, orderBy: { name: 'asc' } });
    expect(builtins.map((r) => [r.name, r.metric, r.comparator, r.threshold ?? r.value, r.clearThreshold])).toEqual([
      ['Container restart loop', 'CONTAINER_RESTARTS', 'GTE', 3, null],
      ['Device offline', 'DEVICE_STATUS', 'EQ', 'OFFLINE', null],
      ['Drive error counters rising', 'DRIVE_COUNTER_INCREASE', 'GT', 0, null],
      ['Drive health critical', 'DRIVE_HEALTH', 'EQ', 'CRITICAL', null],
      ['Fan stopped', 'FAN_RPM', 'LTE', 0, null],
      ['Filesystem almost full', 'FILESYSTEM_USED_PERCENT', 'GT', 90, 85],
      ['Pool degraded', 'POOL_STATE', 'NEQ', 'ONLINE', null],
      ['RAID array degraded', 'ARRAY_STATE', 'NEQ', 'ONLINE', null],
    ]);
  });

  it('emails through a real SMTP server, the subject naming the rule and the device', async () => {
    const smtp = await startSmtpReceiver();
    try {
      const mail = await db.prisma.notificationChannel.create({ data: { name: 'mail', kind: 'EMAIL', url: smtp.url, config: { to: ['ops@example.com'], from: 'alerts@example.com' } } });
      await rule({ name: 'Disk full', channelIds: [mail.id] });
      const e = await start();
      await feed(e, fsBatch(95, '/srv'));
      expect(smtp.mails).toHaveLength(1);
      const m = smtp.mails[0]!;
      expect(m.to).toEqual(['ops@example.com']);
      expect(m.from).toBe('alerts@example.com');
      expect(m.raw).toMatch(/^Subject: \[FIRING\] Disk full on web-1 \(\/srv\)\r?$/m);
      expect(m.raw).toContain('filesystem used % of /srv is 95 (> 90)');
      expect((await db.prisma.notificationDelivery.findMany()).map((d) => d.ok)).toEqual([true]);
    } finally {
      await smtp.close();
    }
  });

  it('latency: sample handed over → webhook received', async () => {
    await rule();
    const e = await start();
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const mount = `/m${i}`;
      const t0 = performance.now();
      e.onBatchWritten(fsBatch(95, mount));
      const [req] = (await hook.waitFor(i + 1)).slice(i);
      latencies.push(req!.at - t0);
    }
    await e.idle();
    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    console.log(`alert latency sample→webhook: p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms (n=${latencies.length})`);
    expect(p(0.99)).toBeLessThan(1000);
  });

  it('reloads rules at once when another instance changes them (alertConfigChanged over Redis)', async () => {
    const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const [here, there] = [await openEventBus({ redisUrl, log }), await openEventBus({ redisUrl, log })];
    try {
      events = here.bus;
      const notifier = createNotifier({ db, secrets, log, baseDelayMs: 5, now, allowPrivateNetworks: true });
      // The periodic refresh would take an hour: only the event can make the new rule known.
      evaluator = createAlertEvaluator({ db, events, log, secrets, notifier, now, tuning: { tickMs: 0, refreshMs: 3_600_000, builtins: false } });
      await evaluator.start();
      await feed(evaluator, fsBatch(95));
      expect(await db.prisma.alert.count()).toBe(0);
      await rule();
      await there.bus.publish('alertConfigChanged', { kind: 'rules' });
      const deadline = Date.now() + 20_000;
      while ((await db.prisma.alert.count()) === 0 && Date.now() < deadline) {
        advance(1);
        await feed(evaluator, fsBatch(95));
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await db.prisma.alert.findMany()).map((a) => a.state)).toEqual(['FIRING']);
    } finally {
      await evaluator?.stop();
      evaluator = null;
      await here.close();
      await there.close();
    }
  });
});
