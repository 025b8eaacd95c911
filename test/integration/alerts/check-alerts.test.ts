/**
 * Alerts on checks (issue #18, "Done when"): against the real OpenSSH server of the suite, an
 * ADMIN adds "backup ran in the last 26 hours" through GraphQL with a CHECK_STATUS rule and a
 * webhook channel; the backup file is made old, the check goes CRITICAL and the webhook gets a
 * FIRING notification naming the host and the check's message; refreshed, RESOLVED. A
 * CHECK_VALUE rule on the check's `age` value fires beside it, and deleting the check resolves
 * what is still open.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { startApp, type App } from '../../../src/main.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { startSshd, type TestSshd } from '../../helpers/sshd.ts';
import { startHttpReceiver, type HttpReceiver } from './receivers.ts';

const ADMIN = 'ipt_check_alerts_test_admin_token_0123456789';
const HOST = 'backup-host-1';

interface Answer<T> {
  data?: T;
  errors?: { message: string }[];
}
interface Hook {
  event: string;
  state: string;
  device: { name: string };
  subject: string;
  rule: { name: string; metric: string };
  message: string;
}

let sshd: TestSshd;
let app: App;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let hook: HttpReceiver;
let dataDir: string;
let shared: string;
let deviceId: string;
let checkId: string;

async function post<T>(query: string, variables: Record<string, unknown> = {}): Promise<Answer<T>> {
  const res = await fetch(`${app.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as Answer<T>;
}

/** The check_file_age way: the file's age in seconds as the message and as perfdata `age`; CRITICAL past 26 hours. */
const backupCommand = (file: string) =>
  `f=${file}; age=$(( $(date +%s) - $(stat -c %Y "$f") )); if [ "$age" -gt 93600 ]; then echo "FILE_AGE CRITICAL - $f is $age seconds old|age=\${age}s"; exit 2; fi; echo "FILE_AGE OK - $f is $age seconds old|age=\${age}s"`;

const hooks = (): Hook[] => hook.requests.map((r) => JSON.parse(r.body) as Hook);

async function hookWhere(ok: (h: Hook) => boolean, timeoutMs = 30_000): Promise<Hook> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = hooks().find(ok);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no such notification; got ${JSON.stringify(hooks())}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** updateCheck runs the check at once on its devices (instead of at its next slot). */
async function runNow(): Promise<void> {
  const r = await post<{ updateCheck: { __typename: string } }>('mutation ($id: ID!) { updateCheck(id: $id, input: { enabled: true }) { __typename } }', { id: checkId });
  expect(r.data?.updateCheck.__typename, JSON.stringify(r)).toBe('Check');
}

const RULE = `mutation ($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { __typename ... on AlertRule { id subject } ... on ValidationError { issues { path message } } } }`;

beforeAll(async () => {
  sshd = await startSshd();
  db = await createTestDatabase();
  hook = await startHttpReceiver();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-check-alerts-'));
  shared = fs.mkdtempSync('/tmp/ipca-');
  fs.chmodSync(shared, 0o755);
  fs.writeFileSync(path.join(shared, 'last'), 'ok\n');
  fs.chmodSync(path.join(shared, 'last'), 0o644);
  const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', DATA_DIR: dataDir, INFRAPULSE_ADMIN_TOKEN: ADMIN, MONITOR_LOCALHOST: 'false', LOG_LEVEL: 'silent', NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true' });
  app = await startApp(config, createLogger('silent'));
  const created = await post<{ createDevice: { id: string } }>('mutation ($input: CreateDeviceInput!) { createDevice(input: $input) { ... on Device { id } ... on Error { message } } }', {
    input: { name: HOST, hostname: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint },
  });
  deviceId = created.data!.createDevice.id;
  expect(deviceId, JSON.stringify(created)).toBeTruthy();
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await hook?.close();
  await db?.close();
  await sshd?.stop();
  for (const dir of [dataDir, shared]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a backup check alerts through a webhook', () => {
  test('rules on checks are validated: CHECK_STATUS takes a status, CHECK_VALUE one "<check>/<key>" subject', async () => {
    const bad = await post<{ createAlertRule: { __typename: string; issues: { path: string[] }[] } }>(RULE, { input: { name: 'bad', metric: 'CHECK_STATUS', comparator: 'GT', value: 'BROKEN', subject: 'backup' } });
    expect(bad.data?.createAlertRule.issues.map((i) => i.path.join('.'))).toEqual(['input.comparator', 'input.value']);
    const noSubject = await post<{ createAlertRule: { issues: { path: string[] }[] } }>(RULE, { input: { name: 'bad', metric: 'CHECK_VALUE', comparator: 'GT', threshold: 1 } });
    expect(noSubject.data?.createAlertRule.issues.map((i) => i.path.join('.'))).toEqual(['input.subject']);
    const cpu = await post<{ createAlertRule: { issues: { path: string[] }[] } }>(RULE, { input: { name: 'bad', metric: 'CPU_PERCENT', comparator: 'GT', threshold: 1, subject: 'x' } });
    expect(cpu.data?.createAlertRule.issues.map((i) => i.path.join('.'))).toEqual(['input.subject']);
  });

  test('old backup: CRITICAL, FIRING naming the host and the message; fresh again: RESOLVED; the check deleted: its value alert resolves', async () => {
    const file = path.join(shared, 'last');
    const channel = await post<{ createNotificationChannel: { id: string } }>('mutation ($input: CreateNotificationChannelInput!) { createNotificationChannel(input: $input) { ... on NotificationChannel { id } ... on Error { message } } }', {
      input: { name: 'ops hook', kind: 'WEBHOOK', url: hook.url },
    });
    const channelIds = [channel.data!.createNotificationChannel.id];
    expect(channelIds[0], JSON.stringify(channel)).toBeTruthy();
    const check = await post<{ createCheck: { __typename: string; id: string } }>('mutation ($input: CreateCheckInput!) { createCheck(input: $input) { __typename ... on Check { id } ... on Error { message } } }', {
      input: { name: 'backup', command: backupCommand(file), kind: 'EXIT_CODE', intervalSeconds: 3600, deviceIds: [deviceId] },
    });
    expect(check.data?.createCheck.__typename, JSON.stringify(check)).toBe('Check');
    checkId = check.data!.createCheck.id;
    const typo = await post<{ createAlertRule: { issues: { path: string[]; message: string }[] } }>(RULE, { input: { name: 'typo', metric: 'CHECK_STATUS', comparator: 'EQ', value: 'CRITICAL', subject: 'bakcup' } });
    expect(typo.data?.createAlertRule.issues).toEqual([{ path: ['input', 'subject'], message: 'no check named "bakcup"' }]);
    const typoValue = await post<{ createAlertRule: { issues: { path: string[] }[] } }>(RULE, { input: { name: 'typo', metric: 'CHECK_VALUE', comparator: 'GT', threshold: 1, subject: 'bakcup/age' } });
    expect(typoValue.data?.createAlertRule.issues.map((i) => i.path.join('.'))).toEqual(['input.subject']);
    const status = await post<{ createAlertRule: { __typename: string; subject: string } }>(RULE, { input: { name: 'Backup failed', metric: 'CHECK_STATUS', comparator: 'EQ', value: 'critical', subject: 'backup', severity: 'CRITICAL', channelIds } });
    expect(status.data?.createAlertRule, JSON.stringify(status)).toMatchObject({ __typename: 'AlertRule', subject: 'backup' });
    const age = await post<{ createAlertRule: { __typename: string } }>(RULE, { input: { name: 'Backup age', metric: 'CHECK_VALUE', comparator: 'GT', threshold: 93_600, subject: 'backup/age', channelIds } });
    expect(age.data?.createAlertRule.__typename, JSON.stringify(age)).toBe('AlertRule');

    // Fresh: the check runs at once, OK, and nobody is told anything.
    await expect.poll(() => app.db.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM check_results`.then((r) => r[0]!.n), { timeout: 20_000 }).toBeGreaterThan(0);
    await new Promise((res) => setTimeout(res, 500));
    expect(hooks()).toEqual([]);

    execFileSync('touch', ['-d', '27 hours ago', file]);
    await runNow();
    const firing = await hookWhere((h) => h.event === 'firing' && h.rule.metric === 'CHECK_STATUS');
    expect(firing).toMatchObject({ state: 'FIRING', device: { name: HOST }, subject: 'backup', rule: { name: 'Backup failed' } });
    expect(firing.message).toMatch(new RegExp(`^check backup is CRITICAL: FILE_AGE CRITICAL - ${file} is 97\\d{3} seconds old$`));
    const ageFiring = await hookWhere((h) => h.event === 'firing' && h.rule.metric === 'CHECK_VALUE');
    expect(ageFiring).toMatchObject({ device: { name: HOST }, subject: 'backup/age' });
    expect(ageFiring.message).toMatch(/^check value backup\/age is 97\d{3} \(> 93600\): FILE_AGE CRITICAL/);
    const stored = await app.db.prisma.alert.findFirstOrThrow({ where: { subject: 'backup', state: 'FIRING' } });
    expect(stored.message).toContain('FILE_AGE CRITICAL');

    // Every result is evaluated, not only changes: a rule added now fires on the next run, still CRITICAL (no checkResultChanged).
    const notOk = await post<{ createAlertRule: { __typename: string } }>(RULE, { input: { name: 'Backup not OK', metric: 'CHECK_STATUS', comparator: 'NEQ', value: 'OK', channelIds } });
    expect(notOk.data?.createAlertRule.__typename, JSON.stringify(notOk)).toBe('AlertRule');
    await runNow();
    await hookWhere((h) => h.event === 'firing' && h.rule.name === 'Backup not OK');
    // …and the first rule's alert stays the one it was.
    expect(await app.db.prisma.alert.count({ where: { subject: 'backup', rule: { name: 'Backup failed' } } })).toBe(1);

    execFileSync('touch', [file]);
    await runNow();
    const resolved = await hookWhere((h) => h.event === 'resolved' && h.rule.metric === 'CHECK_STATUS');
    expect(resolved).toMatchObject({ state: 'RESOLVED', device: { name: HOST }, subject: 'backup' });
    expect(resolved.message).toMatch(/^check backup is OK: FILE_AGE OK/);
    await hookWhere((h) => h.event === 'resolved' && h.rule.metric === 'CHECK_VALUE');

    // Old again, then the check is deleted: no result will ever come, so its alerts resolve.
    execFileSync('touch', ['-d', '27 hours ago', file]);
    await runNow();
    await hookWhere((h) => h.event === 'firing' && h.rule.metric === 'CHECK_STATUS' && hooks().filter((x) => x.event === 'firing' && x.rule.metric === 'CHECK_STATUS').length === 2);
    await expect.poll(() => app.db.prisma.alert.count({ where: { state: 'FIRING' } }), { timeout: 20_000 }).toBe(3);
    const open = await app.db.prisma.alert.findMany({ where: { state: 'FIRING' }, select: { id: true } });
    const del = await post<{ deleteCheck: { id: string } }>('mutation ($id: ID!) { deleteCheck(id: $id) { ... on DeletedCheck { id } } }', { id: checkId });
    expect(del.data?.deleteCheck.id).toBe(checkId);
    await expect.poll(() => app.db.prisma.alert.count({ where: { state: { not: 'RESOLVED' } } }), { timeout: 10_000 }).toBe(0);
    const closed = await app.db.prisma.alert.findMany({ where: { id: { in: open.map((a) => a.id) } }, orderBy: { subject: 'asc' } });
    expect(closed.map((a) => a.message)).toEqual(['backup: the check no longer runs on this device', 'backup: the check no longer runs on this device', 'backup/age: the check no longer runs on this device']);
  }, 120_000);
});
