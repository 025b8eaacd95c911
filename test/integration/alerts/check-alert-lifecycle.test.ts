/**
 * How alerts on checks end when no result says so: a value the check stops printing, a check
 * disabled or no longer scoped to the device (`checksChanged`), a rule narrowed to another
 * subject. Real database and evaluator; results handed over as the check runner does.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertEvaluator, createNotifier, type AlertEvaluator } from '../../../src/alerts/index.ts';
import { createSecretBox } from '../../../src/db/secrets.ts';
import { createLogger } from '../../../src/log.ts';
import type { NamedCheckResult } from '../../../src/storage/checks.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';

let app: TestApp;
let evaluator: AlertEvaluator;

const open = async () => (await app.db.prisma.alert.findMany({ where: { state: { not: 'RESOLVED' } }, orderBy: { subject: 'asc' } })).map((a) => a.subject);
const messageOf = async (subject: string) => (await app.db.prisma.alert.findFirstOrThrow({ where: { subject }, orderBy: { pendingSince: 'desc' } })).message;

async function feed(status: string, values: Record<string, number>, checkName = 'disk'): Promise<void> {
  const row: NamedCheckResult = { time: new Date(), deviceId: 'web1', checkId: 'c1', checkName, status: status as NamedCheckResult['status'], exitCode: null, message: `DISK ${status}`, values };
  evaluator.onCheckResults([row]);
  await evaluator.idle();
}

beforeAll(async () => {
  app = await startTestApp();
  await app.db.prisma.device.create({ data: { id: 'web1', name: 'web1', hostname: 'web1.lan', username: 'mon', tags: ['web'] } });
  await app.db.prisma.check.create({ data: { id: 'c1', name: 'disk', command: 'check_disk', tags: ['web'] } });
  await app.db.prisma.alertRule.create({ data: { name: 'Disk not OK', metric: 'CHECK_STATUS', comparator: 'NEQ', value: 'OK' } });
  await app.db.prisma.alertRule.create({ data: { name: 'Root full', metric: 'CHECK_VALUE', comparator: 'GT', threshold: 90, subject: 'disk/root' } });
  await app.db.prisma.alertRule.create({ data: { name: 'Var full', metric: 'CHECK_VALUE', comparator: 'GT', threshold: 90, subject: 'disk/var' } });
  const log = createLogger('silent');
  const secrets = createSecretBox(randomBytes(32));
  const notifier = createNotifier({ db: app.db, secrets, log, baseDelayMs: 5, allowPrivateNetworks: true });
  evaluator = createAlertEvaluator({ db: app.db, events: app.services.events, log, secrets, notifier, tuning: { tickMs: 0, builtins: false } });
  await evaluator.start();
});

afterAll(async () => {
  await evaluator?.stop();
  await app?.close();
});

describe('alerts on checks end', () => {
  it('a rule naming a subject watches only it; a value no longer printed resolves, a result without values does not', async () => {
    await feed('CRITICAL', { root: 95, var: 97, tmp: 99 });
    expect(await open()).toEqual(['disk', 'disk/root', 'disk/var']);
    expect(await messageOf('disk/var')).toBe('check value disk/var is 97 (> 90): DISK CRITICAL');
    await feed('TIMEOUT', {});
    expect(await open()).toEqual(['disk', 'disk/root', 'disk/var']);
    await feed('CRITICAL', { root: 95 });
    expect(await open()).toEqual(['disk', 'disk/root']);
    expect(await messageOf('disk/var')).toBe('disk/var is no longer reported');
  });

  it('a rule moved to another subject resolves its alert on the old one', async () => {
    await app.db.prisma.alertRule.updateMany({ where: { name: 'Root full' }, data: { subject: 'disk/home' } });
    await evaluator.refresh();
    expect(await open()).toEqual(['disk']);
    expect(await messageOf('disk/root')).toBe('the rule no longer watches disk/root');
  });

  it('the device leaving the check\'s scope, or the check disabled, resolves on checksChanged', async () => {
    await app.db.prisma.alertRule.updateMany({ where: { name: 'Root full' }, data: { subject: 'disk/root' } });
    await evaluator.refresh();
    await feed('CRITICAL', { root: 95 });
    expect(await open()).toEqual(['disk', 'disk/root']);
    await app.db.prisma.check.update({ where: { id: 'c1' }, data: { tags: ['db'] } });
    await app.services.events.publish('checksChanged', { checkId: 'c1', soon: false });
    await expect.poll(open, { timeout: 5000 }).toEqual([]);
    expect(await messageOf('disk')).toBe('disk: the check no longer runs on this device');

    await app.db.prisma.check.update({ where: { id: 'c1' }, data: { tags: ['web'] } });
    await evaluator.refresh();
    await feed('WARNING', {});
    expect(await open()).toEqual(['disk']);
    await app.db.prisma.check.update({ where: { id: 'c1' }, data: { enabled: false } });
    await app.services.events.publish('checksChanged', { checkId: 'c1', soon: false });
    await expect.poll(open, { timeout: 5000 }).toEqual([]);
  });
});
