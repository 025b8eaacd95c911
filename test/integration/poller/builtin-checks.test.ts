/**
 * Built-in checks (issue #18 item 3) against the real OpenSSH server of the suite: an ADMIN
 * picks a template through GraphQL, infrapulse writes its command, the poller runs it over the
 * device's connection. Certificates are generated with openssl here (a file, and one served on
 * a TLS port of the host); the reboot-required marker is created where the test may write it;
 * systemd checks say what this host answers (UNKNOWN where systemd is not running).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { startApp, type App } from '../../../src/main.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { startSshd, type TestSshd } from '../../helpers/sshd.ts';

const ADMIN = 'ipt_builtin_checks_test_admin_token_0123456789';
const REBOOT_FILE = '/var/run/reboot-required';

interface Result {
  checkId: string;
  status: string;
  message: string;
  values: Record<string, number>;
}
interface Answer<T> {
  data?: T;
  errors?: { message: string }[];
}

let sshd: TestSshd;
let app: App;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
let certs: string;
let deviceId: string;
let server: tls.Server | undefined;

async function post<T>(query: string, variables: Record<string, unknown> = {}): Promise<Answer<T>> {
  const res = await fetch(`${app.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as Answer<T>;
}

const CREATE = `mutation ($input: CreateCheckInput!) { createCheck(input: $input) { __typename
  ... on Check { id command kind builtin { kind unit file host port warnDays critDays } } ... on ValidationError { issues { path message } } } }`;
type Created = { createCheck: { __typename: string; id?: string; command?: string; builtin?: Record<string, unknown>; issues?: { path: string[]; message: string }[] } };

async function issuesOf(input: Record<string, unknown>): Promise<string[]> {
  const r = await post<Created>(CREATE, { input: { name: 'bad', deviceIds: [deviceId], ...input } });
  expect(r.data?.createCheck.__typename, JSON.stringify(r)).toBe('ValidationError');
  return r.data!.createCheck.issues!.map((i) => i.path.join('.'));
}

async function create(name: string, builtin: Record<string, unknown>): Promise<Created['createCheck']> {
  const r = await post<Created>(CREATE, { input: { name, builtin, intervalSeconds: 3600, deviceIds: [deviceId] } });
  expect(r.data?.createCheck.__typename, JSON.stringify(r)).toBe('Check');
  return r.data!.createCheck;
}

/** The device's latest result of `checkId` once `ok`. */
async function resultOf(checkId: string, ok: (r: Result) => boolean = () => true, timeoutMs = 20_000): Promise<Result> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await post<{ device: { checks: Result[] } }>('query ($id: ID!) { device(id: $id) { checks { checkId status message values } } }', { id: deviceId });
    const found = r.data?.device.checks.find((c) => c.checkId === checkId);
    if (found && ok(found)) return found;
    if (Date.now() > deadline) throw new Error(`no result for ${checkId}: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** Whole days left of a certificate made for `days` days a moment ago: `days`, or one less once a second has passed. */
const daysLeft = (days: number) => expect.toSatisfy((v: number) => v === days || v === days - 1);

/** A self-signed certificate valid for `days` days, readable by the SSH user. */
function certificate(name: string, days: number): { cert: string; key: string } {
  const cert = path.join(certs, `${name}.pem`);
  const key = path.join(certs, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', String(days), '-subj', '/CN=localhost'], { stdio: 'ignore' });
  fs.chmodSync(cert, 0o644);
  return { cert, key };
}

beforeAll(async () => {
  sshd = await startSshd();
  db = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-builtin-'));
  certs = fs.mkdtempSync('/tmp/ipbc-');
  fs.chmodSync(certs, 0o755);
  const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', DATA_DIR: dataDir, INFRAPULSE_ADMIN_TOKEN: ADMIN, MONITOR_LOCALHOST: 'false', LOG_LEVEL: 'silent' });
  app = await startApp(config, createLogger('silent'));
  const created = await post<{ createDevice: { id: string } }>('mutation ($input: CreateDeviceInput!) { createDevice(input: $input) { ... on Device { id } ... on Error { message } } }', {
    input: { name: 'builtin-host', hostname: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint },
  });
  deviceId = created.data!.createDevice.id;
  expect(deviceId, JSON.stringify(created)).toBeTruthy();
}, 120_000);

afterAll(async () => {
  server?.close();
  await app?.stop();
  await db?.close();
  await sshd?.stop();
  for (const dir of [dataDir, certs]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('built-in checks', () => {
  test('parameters pass strict patterns; a template is off until scoped; a command and a template do not mix', async () => {
    expect(await issuesOf({ builtin: { kind: 'UNIT_ACTIVE', unit: 'nginx; touch /tmp/x' } })).toEqual(['input.builtin.unit']);
    expect(await issuesOf({ builtin: { kind: 'UNIT_ACTIVE', unit: '--host=evil' } })).toEqual(['input.builtin.unit']);
    expect(await issuesOf({ builtin: { kind: 'UNIT_ACTIVE', unit: "a'b" } })).toEqual(['input.builtin.unit']);
    expect(await issuesOf({ builtin: { kind: 'UNIT_ACTIVE' } })).toEqual(['input.builtin.unit']);
    expect(await issuesOf({ builtin: { kind: 'REBOOT_REQUIRED', unit: 'ssh' } })).toEqual(['input.builtin.unit']);
    expect(await issuesOf({ builtin: { kind: 'CERT_EXPIRY', file: 'relative.pem' } })).toEqual(['input.builtin.file']);
    expect(await issuesOf({ builtin: { kind: 'CERT_EXPIRY', file: '/a b.pem' } })).toEqual(['input.builtin.file']);
    expect(await issuesOf({ builtin: { kind: 'CERT_EXPIRY', file: '/x.pem', port: 443 } })).toEqual(['input.builtin.file']);
    expect(await issuesOf({ builtin: { kind: 'CERT_EXPIRY', port: 443, host: '$(id)' } })).toEqual(['input.builtin.host']);
    expect(await issuesOf({ builtin: { kind: 'CERT_EXPIRY', port: 70_000 } })).toEqual(['input.builtin.port']);
    expect(await issuesOf({ builtin: { kind: 'CERT_EXPIRY', port: 443, warnDays: 5, critDays: 10 } })).toEqual(['input.builtin.critDays']);
    expect(await issuesOf({ builtin: { kind: 'FAILED_UNITS' }, command: 'true' })).toEqual(['input.command']);
    expect(await issuesOf({ builtin: { kind: 'FAILED_UNITS' }, deviceIds: [] })).toEqual(['input.deviceIds']);
    expect(await issuesOf({ builtin: { kind: 'FAILED_UNITS' }, kind: 'JSON' })).toEqual(['input.kind']);
    expect(await app.db.prisma.check.count()).toBe(0);
  });

  test('CERT_EXPIRY of a file: days_left as a value; CRITICAL under critDays, WARNING under warnDays, else OK', async () => {
    const soon = certificate('soon', 5);
    const later = certificate('later', 15);
    const fine = certificate('fine', 400);
    const a = await create('cert soon', { kind: 'CERT_EXPIRY', file: soon.cert });
    expect(a.builtin).toEqual({ kind: 'CERT_EXPIRY', unit: null, file: soon.cert, host: null, port: null, warnDays: null, critDays: null });
    expect(a.command).toContain(`openssl x509 -enddate -noout -in '${soon.cert}'`);
    const b = await create('cert later', { kind: 'CERT_EXPIRY', file: later.cert });
    const c = await create('cert fine', { kind: 'CERT_EXPIRY', file: fine.cert, warnDays: 30, critDays: 10 });
    const ra = await resultOf(a.id!);
    expect(ra).toMatchObject({ status: 'CRITICAL', values: { days_left: daysLeft(5) } });
    expect(ra.message).toMatch(new RegExp(`^CRITICAL - certificate of ${soon.cert} expires in [45] days \\(.+ GMT\\)$`));
    expect(await resultOf(b.id!)).toMatchObject({ status: 'WARNING', values: { days_left: daysLeft(15) } });
    expect(await resultOf(c.id!)).toMatchObject({ status: 'OK', values: { days_left: daysLeft(400) } });
    const missing = await create('cert missing', { kind: 'CERT_EXPIRY', file: path.join(certs, 'missing.pem') });
    expect((await resultOf(missing.id!)).status).toBe('UNKNOWN');
  });

  test('CERT_EXPIRY of a port on the host: what the TLS server there presents', async () => {
    const { cert, key } = certificate('served', 10);
    server = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (s) => s.end());
    await new Promise<void>((res) => server!.listen(0, '127.0.0.1', res));
    const port = (server.address() as AddressInfo).port;
    const check = await create('cert port', { kind: 'CERT_EXPIRY', host: '127.0.0.1', port, warnDays: 20, critDays: 3 });
    const r = await resultOf(check.id!);
    expect(r).toMatchObject({ status: 'WARNING', values: { days_left: daysLeft(10) } });
    expect(r.message).toMatch(new RegExp(`certificate of 127\\.0\\.0\\.1:${port} expires in (9|10) days`));
  });

  test('REBOOT_REQUIRED: OK without the marker; WARNING naming the packages with it', async () => {
    const had = fs.existsSync(REBOOT_FILE);
    const check = await create('reboot', { kind: 'REBOOT_REQUIRED' });
    if (!had) expect(await resultOf(check.id!)).toMatchObject({ status: 'OK', message: 'OK - no reboot required' });
    let writable = true;
    try {
      fs.accessSync(path.dirname(REBOOT_FILE), fs.constants.W_OK);
    } catch {
      writable = false;
    }
    if (had || !writable) return; // the host's own marker is not ours to create or remove
    try {
      fs.writeFileSync(REBOOT_FILE, '*** System restart required ***\n');
      fs.writeFileSync(`${REBOOT_FILE}.pkgs`, 'linux-image-6.1\nlibc6\nlinux-image-6.1\n');
      await post('mutation ($id: ID!) { updateCheck(id: $id, input: { enabled: true }) { __typename } }', { id: check.id });
      expect(await resultOf(check.id!, (r) => r.status !== 'OK')).toMatchObject({ status: 'WARNING', message: 'WARNING - reboot required by libc6 linux-image-6.1' });
    } finally {
      fs.rmSync(REBOOT_FILE, { force: true });
      fs.rmSync(`${REBOOT_FILE}.pkgs`, { force: true });
    }
  });

  test('FAILED_UNITS and UNIT_ACTIVE say what the host answers (UNKNOWN and why where systemd is not running)', async () => {
    const systemd = fs.existsSync('/run/systemd/system');
    const failed = await create('failed units', { kind: 'FAILED_UNITS' });
    const unit = await create('no such unit', { kind: 'UNIT_ACTIVE', unit: 'infrapulse-no-such-unit.service' });
    expect(unit.command).toContain("systemctl is-active -- 'infrapulse-no-such-unit.service'");
    const rf = await resultOf(failed.id!);
    const ru = await resultOf(unit.id!);
    if (systemd) {
      expect(['OK', 'CRITICAL']).toContain(rf.status);
      expect(rf.values.failed).toBeGreaterThanOrEqual(0);
      expect(ru).toMatchObject({ status: 'CRITICAL', message: 'CRITICAL - infrapulse-no-such-unit.service is inactive' });
    } else {
      expect(rf.status).toBe('UNKNOWN');
      expect(rf.message).toMatch(/^UNKNOWN - (systemctl: .+|no systemctl on this host)$/);
      expect(ru.status).toBe('UNKNOWN');
      expect(ru.message).toMatch(/^UNKNOWN - (infrapulse-no-such-unit\.service: .+|no systemctl on this host)$/);
    }
  });
});
