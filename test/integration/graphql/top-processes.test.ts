/**
 * Device.topProcesses against the real OpenSSH server of the test suite: over the connection
 * the poller keeps (a whole app), and with a connection of its own on a server without a
 * poller; a busy loop started on the host shows among the busiest; OPERATOR only; typed errors
 * for a host that cannot answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { startApp, type App } from '../../../src/main.ts';
import { createApiToken } from '../../../src/tokens.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { freePort, SSHD_AS_ROOT, startSshd, type TestSshd } from '../../helpers/sshd.ts';

const ADMIN = 'ipt_top_processes_test_admin_token_0123456789';

interface Proc {
  pid: number;
  user: string | null;
  command: string;
  cpuPercent: number | null;
  memoryBytes: number | null;
  ioReadBytesPerSecond: number | null;
  ioWriteBytesPerSecond: number | null;
}
type Top =
  | { __typename: 'TopProcesses'; by: string; cpuBasis: string; sampleIntervalSeconds: number; processCount: number; processes: Proc[] }
  | { __typename: 'DeviceCommandError'; problem: string; message: string }
  | { __typename: 'ValidationError'; message: string };
interface Answer {
  data?: { device: { name: string; topProcesses: Top | null } | null };
  errors?: { message: string; path?: (string | number)[] }[];
}

const TOP = `query ($id: ID!, $by: ProcessOrder, $limit: Int) { device(id: $id) { name topProcesses(by: $by, limit: $limit) {
  __typename
  ... on TopProcesses { by cpuBasis sampleIntervalSeconds processCount processes { pid user command cpuPercent memoryBytes ioReadBytesPerSecond ioWriteBytesPerSecond } }
  ... on DeviceCommandError { problem message }
  ... on ValidationError { message }
} } }`;

const BUSY = 'while :; do :; done';
let sshd: TestSshd;
let busy: ChildProcess;

async function post(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<Answer> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as Answer;
}

const topOf = (a: Answer): Top => {
  expect(a.errors, JSON.stringify(a.errors)).toBeUndefined();
  return a.data!.device!.topProcesses!;
};

function processesOf(a: Answer): Extract<Top, { __typename: 'TopProcesses' }> {
  const t = topOf(a);
  expect(t.__typename, JSON.stringify(t)).toBe('TopProcesses');
  return t as Extract<Top, { __typename: 'TopProcesses' }>;
}

beforeAll(async () => {
  sshd = await startSshd();
  // The host is this machine: a busy loop of root's (of the test's user when not root).
  busy = spawn('/bin/sh', ['-c', BUSY], { stdio: 'ignore' });
}, 60_000);

afterAll(async () => {
  busy?.kill('SIGKILL');
  await sshd?.stop();
});

describe('over the poller\'s connection (a whole app)', () => {
  let app: App;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  let deviceId: string;
  let viewer: string;
  let operator: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-top-'));
    const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', DATA_DIR: dataDir, INFRAPULSE_ADMIN_TOKEN: ADMIN, MONITOR_LOCALHOST: 'false', LOG_LEVEL: 'silent' });
    app = await startApp(config, createLogger('silent'));
    viewer = (await createApiToken(app.db.prisma, { name: 'top viewer', role: 'VIEWER' })).token;
    operator = (await createApiToken(app.db.prisma, { name: 'top operator', role: 'OPERATOR' })).token;
    const created = await post(app.server.url, ADMIN, 'mutation ($input: CreateDeviceInput!) { createDevice(input: $input) { __typename ... on Device { id } ... on Error { message } } }', {
      input: { name: 'openssh', hostname: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint },
    } as never);
    deviceId = (created.data as unknown as { createDevice: { id: string } }).createDevice.id;
    expect(deviceId).toBeTruthy();
    // The poller holds the device once its first poll ran.
    const poll = await post(app.server.url, operator, 'mutation ($id: ID!) { pollDevice(id: $id, collectors: [SYSTEM]) { __typename ... on PollResult { status } } }', { id: deviceId });
    expect(JSON.stringify(poll.data)).toContain('ONLINE');
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await db?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  test('an OPERATOR sees the host\'s busy loop among the busiest by CPU, over the connection the poller keeps', async () => {
    const execOn = vi.spyOn(app.services.poller!, 'execOn');
    const top = processesOf(await post(app.server.url, operator, TOP, { id: deviceId, by: 'CPU', limit: 5 }));
    expect(execOn).toHaveBeenCalledTimes(1);
    expect(await execOn.mock.results[0]!.value).toMatchObject({ code: 0 });
    execOn.mockRestore();
    expect(app.services.poller!.stats().connectionsOpen).toBe(1);
    expect(top).toMatchObject({ by: 'CPU', cpuBasis: 'INTERVAL', processes: expect.any(Array) });
    expect(top.sampleIntervalSeconds).toBeGreaterThanOrEqual(0.5);
    expect(top.processCount).toBeGreaterThan(5);
    expect(top.processes).toHaveLength(5);
    const cpus = top.processes.map((p) => p.cpuPercent ?? -1);
    expect(cpus).toEqual([...cpus].sort((a, b) => b - a));
    // First when the machine is idle; its 2 CPUs are shared with other work here, hence "among the top 5" and a share of one CPU.
    const mine = top.processes.find((p) => p.pid === busy.pid);
    expect(mine, JSON.stringify(top.processes)).toBeDefined();
    expect(mine).toMatchObject({ command: `/bin/sh -c ${BUSY}`, user: os.userInfo().username });
    expect(mine!.cpuPercent).toBeGreaterThan(20);
    // The login user cannot read another user's /proc/[pid]/io: unknown, not zero.
    if (SSHD_AS_ROOT) expect(mine).toMatchObject({ ioReadBytesPerSecond: null, ioWriteBytesPerSecond: null });
    expect(top.processes.some((p) => p.command.includes('@@ip:'))).toBe(false);
  });

  test('by MEMORY and IO, highest first', async () => {
    const mem = processesOf(await post(app.server.url, operator, TOP, { id: deviceId, by: 'MEMORY', limit: 10 }));
    const bytes = mem.processes.map((p) => p.memoryBytes ?? -1);
    expect(bytes).toEqual([...bytes].sort((a, b) => b - a));
    expect(bytes[0]).toBeGreaterThan(10 * 1024 * 1024);
    const io = processesOf(await post(app.server.url, operator, TOP, { id: deviceId, by: 'IO' }));
    expect(io.processes).toHaveLength(10);
    const total = io.processes.map((p) => (p.ioReadBytesPerSecond === null && p.ioWriteBytesPerSecond === null ? -1 : (p.ioReadBytesPerSecond ?? 0) + (p.ioWriteBytesPerSecond ?? 0)));
    expect(total).toEqual([...total].sort((a, b) => b - a));
  });

  test('a VIEWER cannot run it (the rest of the device still answers); a bad limit is a ValidationError', async () => {
    const refused = await post(app.server.url, viewer, TOP, { id: deviceId });
    expect(refused.errors).toEqual([expect.objectContaining({ message: 'role VIEWER may not do this', path: ['device', 'topProcesses'] })]);
    expect(refused.data!.device).toEqual({ name: 'openssh', topProcesses: null });
    expect(topOf(await post(app.server.url, operator, TOP, { id: deviceId, limit: 0 }))).toMatchObject({ __typename: 'ValidationError', message: 'invalid limit' });
  });

  test('several requests at once share one sample', async () => {
    const execOn = vi.spyOn(app.services.poller!, 'execOn');
    const answers = await Promise.all([1, 2, 3].map(() => post(app.server.url, operator, TOP, { id: deviceId, limit: 3 })));
    for (const a of answers) expect(processesOf(a).processes).toHaveLength(3);
    expect(execOn.mock.calls.length).toBeLessThan(3);
    execOn.mockRestore();
  });
});

describe('with a connection of its own (a server without a poller)', () => {
  let app: TestApp;
  let operator: string;

  beforeAll(async () => {
    app = await startTestApp();
    operator = (await createApiToken(app.db.prisma, { name: 'top operator', role: 'OPERATOR' })).token;
  }, 60_000);
  afterAll(async () => app?.close());

  async function device(name: string, input: Record<string, unknown>): Promise<string> {
    const r = await app.gql<{ createDevice: { id?: string; message?: string } }>('mutation ($input: CreateDeviceInput!) { createDevice(input: $input) { ... on Device { id } ... on Error { message } } }', {
      input: { name, hostname: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, ...input },
    });
    expect(r.body.data?.createDevice.id, JSON.stringify(r.body)).toBeTruthy();
    return r.body.data!.createDevice.id!;
  }

  test('a pinned SSH device and the local machine answer', async () => {
    const ssh = await device('pinned', { hostKeyFingerprint: sshd.hostKeyFingerprint });
    const top = processesOf(await post(app.server.url, operator, TOP, { id: ssh, limit: 5 }));
    expect(top.processes.map((p) => p.pid)).toContain(busy.pid);
    const local = await device('here', { transport: 'LOCAL', hostname: 'localhost', username: null, privateKey: null });
    const mine = processesOf(await post(app.server.url, operator, TOP, { id: local, by: 'MEMORY', limit: 100 }));
    // As the server's own user, its own processes' I/O is readable.
    expect(mine.processes.find((p) => p.pid === process.pid)).toMatchObject({ ioReadBytesPerSecond: expect.any(Number) });
  });

  test('typed errors: no pinned key, nothing listening, monitoring switched off', async () => {
    const unpinned = await device('unpinned', {});
    expect(topOf(await post(app.server.url, operator, TOP, { id: unpinned }))).toMatchObject({ __typename: 'DeviceCommandError', problem: 'HOST_KEY' });
    const closed = await device('closed', { port: await freePort(), hostKeyFingerprint: sshd.hostKeyFingerprint });
    expect(topOf(await post(app.server.url, operator, TOP, { id: closed }))).toMatchObject({ __typename: 'DeviceCommandError', problem: 'UNREACHABLE' });
    const off = await device('off', { hostKeyFingerprint: sshd.hostKeyFingerprint, monitoringEnabled: false });
    expect(topOf(await post(app.server.url, operator, TOP, { id: off }))).toMatchObject({ __typename: 'DeviceCommandError', problem: 'DISABLED' });
  });
});
