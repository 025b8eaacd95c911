/**
 * Checks (issue #18) end to end against the real OpenSSH server of the test suite: an ADMIN
 * creates checks through GraphQL, the poller runs them over the device's connection, results
 * land in check_results and Device.checks, status changes are published. Exit codes 0–3 and
 * 127, a command that hangs (TIMEOUT, and the remote process is gone), one that floods its
 * output (TRUNCATED), Prometheus and JSON outputs, only an ADMIN may define a check, and the
 * device's own fields never reach a command.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../../src/config.ts';
import type { CheckResultEvent } from '../../../src/events/index.ts';
import { activeSubscriptions } from '../../../src/graphql/types/live.ts';
import { createLogger } from '../../../src/log.ts';
import { startApp, type App } from '../../../src/main.ts';
import { createApiToken } from '../../../src/tokens.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { startSshd, type TestSshd } from '../../helpers/sshd.ts';

const ADMIN = 'ipt_checks_test_admin_token_0123456789abcdef';

interface Result {
  checkId: string;
  status: string;
  exitCode: number | null;
  message: string;
  values: Record<string, number>;
  time: string;
  check: { name: string } | null;
}
interface Answer<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

let sshd: TestSshd;
let app: App;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
/** Where commands on the host leave files for the test (the SSH user is another account). */
let shared: string;
let deviceId: string;
const events: CheckResultEvent[] = [];

// Every shell metacharacter a name may hold: were it ever pasted into a command, a file would appear.
const deviceName = () => `evil $(touch ${shared}/from-name);touch ${shared}/from-name2 \`id\`|&>x`;

async function post<T>(query: string, variables: Record<string, unknown> = {}, token = ADMIN): Promise<Answer<T>> {
  const res = await fetch(`${app.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as Answer<T>;
}

const CREATE = `mutation ($input: CreateCheckInput!) { createCheck(input: $input) { __typename ... on Check { id name command kind } ... on ValidationError { message issues { path message } } ... on Error { message } } }`;

async function createCheck(input: Record<string, unknown>): Promise<string> {
  const r = await post<{ createCheck: { __typename: string; id?: string } }>(CREATE, { input: { deviceIds: [deviceId], intervalSeconds: 3600, ...input } });
  expect(r.data?.createCheck.__typename, JSON.stringify(r)).toBe('Check');
  return r.data!.createCheck.id!;
}

const CHECKS = `query ($id: ID!) { device(id: $id) { checks { checkId status exitCode message values time check { name } } } }`;

/** Waits until the device's latest result of `checkId` satisfies `ok`. */
async function resultOf(checkId: string, ok: (r: Result) => boolean = () => true, timeoutMs = 20_000): Promise<Result> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await post<{ device: { checks: Result[] } }>(CHECKS, { id: deviceId });
    expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    const found = r.data!.device.checks.find((c) => c.checkId === checkId);
    if (found && ok(found)) return found;
    if (Date.now() > deadline) throw new Error(`no result for check ${checkId}: ${JSON.stringify(r.data)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

beforeAll(async () => {
  sshd = await startSshd();
  db = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-checks-'));
  // Short: the device name holds it twice and names are at most 100 characters.
  shared = fs.mkdtempSync('/tmp/ipc-');
  fs.chmodSync(shared, 0o777);
  const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', DATA_DIR: dataDir, INFRAPULSE_ADMIN_TOKEN: ADMIN, MONITOR_LOCALHOST: 'false', LOG_LEVEL: 'silent' });
  app = await startApp(config, createLogger('silent'));
  app.services.events.listen('checkResultChanged', (e) => events.push(e));
  const created = await post<{ createDevice: { id: string } }>('mutation ($input: CreateDeviceInput!) { createDevice(input: $input) { ... on Device { id } ... on Error { message } } }', {
    input: { name: deviceName(), hostname: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint },
  });
  deviceId = created.data!.createDevice.id;
  expect(deviceId, JSON.stringify(created)).toBeTruthy();
  const poll = await post('mutation ($id: ID!) { pollDevice(id: $id, collectors: [SYSTEM]) { __typename ... on PollResult { status } } }', { id: deviceId });
  expect(JSON.stringify(poll.data)).toContain('ONLINE');
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await db?.close();
  await sshd?.stop();
  for (const dir of [dataDir, shared]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('only an ADMIN defines checks', () => {
  test('VIEWER and OPERATOR get the role error of every admin mutation, and nothing is stored', async () => {
    for (const role of ['VIEWER', 'OPERATOR'] as const) {
      const { token } = await createApiToken(app.db.prisma, { name: `checks ${role}`, role });
      const r = await post(CREATE, { input: { name: `by ${role}`, command: 'true' } }, token);
      expect(r.errors).toEqual([expect.objectContaining({ message: `role ${role} may not do this`, extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
      const del = await post('mutation { deleteCheck(id: "x") { __typename } }', {}, token);
      expect(del.errors?.[0]?.message).toBe(`role ${role} may not do this`);
      // Reading is open to them; a VIEWER does not see commands.
      const list = await post<{ checks: { command: string | null }[] }>('{ checks { name command } }', {}, token);
      expect(list.errors).toBeUndefined();
    }
    expect(await app.db.prisma.check.count({ where: { name: { startsWith: 'by ' } } })).toBe(0);
  });

  test('a bad definition is a ValidationError naming each field', async () => {
    const r = await post<{ createCheck: { __typename: string; issues: { path: string[] }[] } }>(CREATE, { input: { name: ' ', command: '  ', intervalSeconds: 1, timeoutSeconds: 0, kind: 'EXIT_CODE', jsonPaths: ['a'] } });
    expect(r.data?.createCheck.__typename).toBe('ValidationError');
    expect(r.data!.createCheck.issues.map((i) => i.path.join('.')).sort()).toEqual(['input.command', 'input.intervalSeconds', 'input.jsonPaths', 'input.name', 'input.timeoutSeconds']);
  });

  test('a taken name is a ConflictError; an unknown id a NotFoundError', async () => {
    await createCheck({ name: 'taken', command: 'true', enabled: false });
    const again = await post<{ createCheck: { __typename: string } }>(CREATE, { input: { name: 'taken', command: 'true' } });
    expect(again.data?.createCheck.__typename).toBe('ConflictError');
    const missing = await post<{ updateCheck: { __typename: string } }>('mutation { updateCheck(id: "nope", input: { enabled: true }) { __typename } }');
    expect(missing.data?.updateCheck.__typename).toBe('NotFoundError');
  });
});

describe('runs over the device\'s connection', () => {
  test('exit codes 0, 1, 2, 3 and 127 give OK, WARNING, CRITICAL, UNKNOWN, UNKNOWN with message and perfdata', async () => {
    const cases = [
      { code: 0, command: "echo 'BACKUP OK - last run 2 h ago | age=7200s;93600;93600;0 '\\''size gb'\\''=12.5GB'", status: 'OK', message: 'BACKUP OK - last run 2 h ago', values: { age: 7200, 'size gb': 12.5 } },
      { code: 1, command: 'echo "DISK WARNING - 85% used | used=85%;80;90"; exit 1', status: 'WARNING', message: 'DISK WARNING - 85% used', values: { used: 85 } },
      { code: 2, command: 'echo "BACKUP CRITICAL - last run 30 h ago"; exit 2', status: 'CRITICAL', message: 'BACKUP CRITICAL - last run 30 h ago', values: {} },
      { code: 3, command: 'echo "UNKNOWN - cannot read state"; exit 3', status: 'UNKNOWN', message: 'UNKNOWN - cannot read state', values: {} },
      { code: 127, command: 'check_not_installed_anywhere --warn 1', status: 'UNKNOWN', message: expect.stringContaining('check_not_installed_anywhere') as unknown as string, values: {} },
    ];
    const ids = await Promise.all(cases.map((c) => createCheck({ name: `exit ${c.code}`, command: c.command })));
    for (const [i, c] of cases.entries()) {
      const r = await resultOf(ids[i]!);
      expect(r).toMatchObject({ status: c.status, exitCode: c.code, message: c.message, values: c.values, check: { name: `exit ${c.code}` } });
    }
    // Each first result is a change from nothing: published once, after it was stored.
    for (const id of ids) expect(events.filter((e) => e.checkId === id)).toEqual([expect.objectContaining({ deviceId, previous: null })]);
    const stored = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM check_results WHERE check_id = ANY($1)', [ids]);
    expect(stored.rows[0]!.n).toBeGreaterThanOrEqual(5);
  });

  test('a command that hangs is TIMEOUT and its process is gone from the host; the device\'s polls never wait for it', async () => {
    const pidFile = path.join(shared, 'hang.pid');
    const id = await createCheck({ name: 'hangs', command: `sleep 300 & echo $! > ${pidFile}; wait`, timeoutSeconds: 4 });
    const t0 = Date.now();
    while (!fs.existsSync(pidFile) && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 50));
    // While the check hangs on the same connection, a poll of the device goes through at once.
    const p0 = Date.now();
    const poll = await post('mutation ($id: ID!) { pollDevice(id: $id, collectors: [SYSTEM]) { __typename ... on PollResult { status } } }', { id: deviceId });
    expect(JSON.stringify(poll.data)).toContain('ONLINE');
    expect(Date.now() - p0).toBeLessThan(2000);
    // …and the check was still hanging then: no result yet.
    const during = await post<{ device: { checks: Result[] } }>(CHECKS, { id: deviceId });
    expect(during.data!.device.checks.map((c) => c.checkId)).not.toContain(id);
    const r = await resultOf(id);
    expect(r).toMatchObject({ status: 'TIMEOUT', exitCode: null, message: 'TIMEOUT: the command ran past 4 s and was stopped' });
    expect(Date.now() - t0).toBeLessThan(12_000);
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    expect(pid).toBeGreaterThan(1);
    const deadline = Date.now() + 5000;
    while (fs.existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(fs.existsSync(`/proc/${pid}`), `sleep ${pid} still runs`).toBe(false);
  });

  test('a command that floods its output is stopped and says TRUNCATED', async () => {
    const id = await createCheck({ name: 'floods', command: 'yes flood' });
    const r = await resultOf(id);
    expect(r).toMatchObject({ status: 'UNKNOWN', exitCode: null, message: expect.stringMatching(/^TRUNCATED: .*64 KB/) });
  });

  test('PROMETHEUS and JSON outputs give their values', async () => {
    const prom = await createCheck({ name: 'textfile', kind: 'PROMETHEUS', command: `printf '# TYPE backup_last_success_timestamp_seconds gauge\\nbackup_last_success_timestamp_seconds{job="nightly"} 1764600000\\nbackup_files_total 42\\n'` });
    const json = await createCheck({ name: 'json', kind: 'JSON', command: `echo '{"backup":{"age_seconds":3600,"ok":true},"disks":[{"temp":41}]}'`, jsonPaths: ['backup.age_seconds', 'disks[0].temp'] });
    expect(await resultOf(prom)).toMatchObject({ status: 'OK', exitCode: 0, values: { 'backup_last_success_timestamp_seconds{job="nightly"}': 1764600000, backup_files_total: 42 } });
    expect(await resultOf(json)).toMatchObject({ status: 'OK', exitCode: 0, values: { 'backup.age_seconds': 3600, 'disks[0].temp': 41 } });
    // Another kind drops the paths.
    const switched = await post<{ updateCheck: { __typename: string; kind?: string } }>('mutation ($id: ID!) { updateCheck(id: $id, input: { kind: EXIT_CODE, enabled: false }) { __typename ... on Check { kind } } }', { id: json });
    expect(switched.data?.updateCheck).toEqual({ __typename: 'Check', kind: 'EXIT_CODE' });
    expect((await app.db.prisma.check.findUniqueOrThrow({ where: { id: json } })).jsonPaths).toEqual([]);
  });

  test('the command reaches the host exactly as stored: the device\'s name, full of shell syntax, never does', async () => {
    const command = "tr '\\0' ' ' < /proc/$$/cmdline";
    const id = await createCheck({ name: 'what ran', command });
    const r = await resultOf(id);
    // The login shell (sh as sshd names it in argv[0]) got the command as one argument and nothing else.
    expect(r.message).toMatch(/^\S*sh -c /);
    expect(r.message.replace(/^\S*sh -c /, '')).toBe(command);
    expect(fs.readdirSync(shared).filter((f) => f.startsWith('from-name'))).toEqual([]);
  });

  test('a change of status is published once; checkHistory lists every run; deleteCheck removes it from Device.checks', async () => {
    const flag = path.join(shared, 'flag');
    const id = await createCheck({ name: 'flips', command: `test -e ${flag} && { echo "flag set"; exit 2; } || echo "no flag"` });
    expect(await resultOf(id)).toMatchObject({ status: 'OK', message: 'no flag' });
    fs.writeFileSync(flag, '');
    // updateCheck runs the check again at once (as a new or changed check does).
    const upd = await post<{ updateCheck: { __typename: string } }>('mutation ($id: ID!) { updateCheck(id: $id, input: { timeoutSeconds: 5 }) { __typename } }', { id });
    expect(upd.data?.updateCheck.__typename).toBe('Check');
    expect(await resultOf(id, (r) => r.status === 'CRITICAL')).toMatchObject({ exitCode: 2, message: 'flag set' });
    // The runs show on /metrics.
    const scrape = await (await fetch(`${app.server.url}/metrics`)).text();
    expect(Number(/^infrapulse_check_runs (\d+)$/m.exec(scrape)?.[1])).toBeGreaterThanOrEqual(10);
    expect(scrape).toMatch(/^infrapulse_checks_in_flight \d+$/m);
    expect(events.filter((e) => e.checkId === id).map((e) => [e.previous, e.status])).toEqual([
      [null, 'OK'],
      ['OK', 'CRITICAL'],
    ]);
    const history = await post<{ checkHistory: { status: string }[] }>('query ($c: ID!, $d: ID!, $from: DateTime!) { checkHistory(checkId: $c, deviceId: $d, from: $from) { status } }', { c: id, d: deviceId, from: new Date(Date.now() - 3_600_000).toISOString() });
    expect(history.errors).toBeUndefined();
    expect(history.data!.checkHistory.map((h) => h.status)).toEqual(['CRITICAL', 'OK']);
    const del = await post<{ deleteCheck: { id?: string } }>('mutation ($id: ID!) { deleteCheck(id: $id) { ... on DeletedCheck { id } } }', { id });
    expect(del.data?.deleteCheck.id).toBe(id);
    const after = await post<{ device: { checks: Result[] } }>(CHECKS, { id: deviceId });
    expect(after.data!.device.checks.map((c) => c.checkId)).not.toContain(id);
  });

  test('checkResultChanged over graphql-ws: the device\'s changes with their check, none for a tag it does not carry', async () => {
    const client = createClient({ url: `${app.server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN}` }, retryAttempts: 0, lazy: true });
    const SUB = 'subscription ($ids: [ID!], $tags: [String!]) { checkResultChanged(deviceIds: $ids, tags: $tags) { checkId deviceId status previousStatus exitCode message values check { name } device { id } } }';
    const mine: Record<string, unknown>[] = [];
    const others: unknown[] = [];
    const sink = (into: unknown[]) => ({ next: (v: { data?: Record<string, unknown> | null }) => void into.push(v.data?.checkResultChanged), error: (e: unknown) => void into.push(e), complete: () => undefined });
    const before = activeSubscriptions().checkResultChanged;
    const stop = [client.subscribe({ query: SUB, variables: { ids: [deviceId] } }, sink(mine)), client.subscribe({ query: SUB, variables: { tags: ['elsewhere'] } }, sink(others))];
    try {
      const deadline = Date.now() + 10_000;
      while (activeSubscriptions().checkResultChanged < before + 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      const id = await createCheck({ name: 'live', command: 'echo "LIVE WARNING | n=3"; exit 1' });
      const until = Date.now() + 20_000;
      while (mine.length === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
      expect(mine).toEqual([{ checkId: id, deviceId, status: 'WARNING', previousStatus: null, exitCode: 1, message: 'LIVE WARNING', values: { n: 3 }, check: { name: 'live' }, device: { id: deviceId } }]);
      expect(others).toEqual([]);
    } finally {
      for (const s of stop) s();
      await client.dispose();
    }
  });
});
