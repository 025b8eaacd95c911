/**
 * Issue 14 item 3: a healthy host without a running container engine or smartctl is ONLINE, its
 * collectors UNAVAILABLE with reasons (logged once, kept across restarts); a collector that
 * worked and then fails is FAILING and the device DEGRADED; collectors are switched off and
 * given intervals through createDevice/updateDevice; pollDevice re-probes.
 *
 * Real parts: this machine's /bin/sh and /proc through the local runner, a real database and
 * the GraphQL API over HTTP. `docker` is a PATH shim that prints what the real CLI prints when
 * its daemon is down (or a one-container answer when "started").
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.ts';
import { createPoller, type Poller } from '../../../src/poller/index.ts';
import { createLocalRunner } from '../../../src/transport/local.ts';
import type { CommandRunner } from '../../../src/transport/types.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { tempDir, testConfig } from './setup.ts';
import { COLLECTOR_NAMES } from '../../../src/collectors/index.ts';

const DAEMON_DOWN = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';

let app: TestApp;
let dir: string;
let poller: Poller;
const logLines: Array<Record<string, unknown>> = [];
/** smartctl on this machine (where the drives command looks): then drives are switched off, so the test does not depend on this machine's disks. */
const smartctlHere = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/bin', '/usr/local/bin'].some((d) => fs.existsSync(path.join(d, 'smartctl')));

function writeShim(): void {
  const ps = JSON.stringify({ ID: 'c1', Names: 'web', Image: 'nginx', State: 'running', Status: 'Up', CreatedAt: '2024-01-01 00:00:00 +0000 UTC' });
  const inspect = JSON.stringify({ Id: 'c1', RestartCount: 0, State: { Status: 'running', Running: true, ExitCode: 0, StartedAt: '2024-01-01T00:00:00Z' } });
  const script = [
    '#!/bin/sh',
    `echo "$*" >> '${dir}/calls'`,
    `if [ "$(cat '${dir}/mode')" = down ]; then echo '${DAEMON_DOWN}' >&2; exit 1; fi`,
    'case "$1 $2" in',
    `  "ps -aq") echo c1 ;;`,
    `  "ps -a") echo '${ps}' ;;`,
    `  inspect*) echo '${inspect}' ;;`,
    'esac',
    'exit 0',
  ].join('\n');
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(dir, 'bin', 'docker'), `${script}\n`, { mode: 0o755 });
}
const daemon = (mode: 'up' | 'down') => fs.writeFileSync(path.join(dir, 'mode'), mode);
const dockerCalls = (): number => (fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').split('\n').filter(Boolean).length : 0);

/** This machine, with the shim first on PATH (the collectors only append to PATH). */
function shimmedRunner(): CommandRunner {
  const local = createLocalRunner();
  return { exec: (command, options) => local.exec(`PATH="${dir}/bin:$PATH"; export PATH\n${command}`, options), close: async () => {} };
}

function startPoller(): Promise<void> {
  const log = createLogger('debug', new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(l) as Record<string, unknown>); done(); } }));
  poller = createPoller({ config: testConfig(dir), db: app.db, events: app.services.events, log, secrets: app.services.secrets, runnerFactory: () => shimmedRunner(), tuning: { spoolDir: `${dir}/spool` } });
  app.services.poller = poller;
  return poller.start();
}

beforeAll(async () => {
  app = await startTestApp();
  dir = tempDir('infrapulse-collectors-');
  writeShim();
  daemon('down');
  await startPoller();
});
afterAll(async () => {
  await poller?.stop();
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const CREATE = `mutation ($input: CreateDeviceInput!) { createDevice(input: $input) {
  __typename ... on Device { id } ... on ValidationError { issues { path message } } } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateDeviceInput!) { updateDevice(id: $id, input: $input) {
  __typename ... on Device { id } ... on ValidationError { issues { path message } } } }`;
const POLL = `mutation ($id: ID!) { pollDevice(id: $id) { __typename ... on PollResult { status collectors { collector ok } } } }`;
const DEVICE = `query ($id: ID!) { device(id: $id) { status lastError intervals { system }
  collectors { name state reason lastRunAt enabled intervalSeconds intervalOverride } } }`;

interface CollectorJson { name: string; state: string | null; reason: string | null; lastRunAt: string | null; enabled: boolean; intervalSeconds: number; intervalOverride: number | null }
interface DeviceJson { status: string; lastError: string | null; intervals: { system: number }; collectors: CollectorJson[] }

async function createLocal(name: string, collectors: unknown[] = []): Promise<string> {
  const off = smartctlHere ? [{ name: 'DRIVES', enabled: false }] : [];
  const res = await app.gql<{ createDevice: { __typename: string; id: string } }>(CREATE, { input: { name, transport: 'LOCAL', collectors: [...off, ...collectors] } });
  expect(res.body.data?.createDevice.__typename).toBe('Device');
  return res.body.data!.createDevice.id;
}
async function device(id: string): Promise<DeviceJson & { byName: Record<string, CollectorJson> }> {
  const res = await app.gql<{ device: DeviceJson }>(DEVICE, { id });
  const d = res.body.data!.device;
  return { ...d, byName: Object.fromEntries(d.collectors.map((c) => [c.name, c])) };
}
async function poll(id: string): Promise<{ status: string; collectors: { collector: string; ok: boolean }[] }> {
  const res = await app.gql<{ pollDevice: { __typename: string; status: string; collectors: { collector: string; ok: boolean }[] } }>(POLL, { id });
  expect(res.body.data?.pollDevice.__typename).toBe('PollResult');
  return res.body.data!.pollDevice;
}
const collectorLogs = (deviceId: string, collector: string) => logLines.filter((l) => l.deviceId === deviceId && l.collector === collector && Number(l.level) >= 40);

// Several polls and a poller restart per test: generous under a loaded machine.
describe('collectors not available on a host', { timeout: 120_000 }, () => {
  it('docker CLI without its daemon, no smartctl: ONLINE, UNAVAILABLE with reasons, warned once, remembered across a restart', async () => {
    const id = await createLocal('no-engine');
    const first = await poll(id);
    expect(first.status).toBe('ONLINE');
    for (let i = 0; i < 3; i++) expect((await poll(id)).status).toBe('ONLINE');

    const d = await device(id);
    expect(d.status).toBe('ONLINE');
    expect(d.lastError).toBeNull();
    expect(d.byName.SYSTEM).toMatchObject({ state: 'OK', reason: null, enabled: true });
    expect(d.byName.CONTAINERS).toMatchObject({ state: 'UNAVAILABLE', enabled: true });
    expect(d.byName.CONTAINERS!.reason).toContain(DAEMON_DOWN);
    expect(Date.parse(d.byName.CONTAINERS!.lastRunAt!)).toBeGreaterThan(Date.now() - 120_000);
    if (!smartctlHere) expect(d.byName.DRIVES).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(/smartctl not found/) });
    expect(dockerCalls()).toBeGreaterThanOrEqual(4);

    // Four polls, one warning.
    const warnings = collectorLogs(id, 'containers');
    expect(warnings.map((l) => [l.msg, l.state])).toEqual([['collector not available on this host (tried again hourly)', 'UNAVAILABLE']]);

    // A restart remembers it: still UNAVAILABLE (not FAILING), no new warning.
    await poller.stop();
    await startPoller();
    expect((await device(id)).byName.CONTAINERS!.state).toBe('UNAVAILABLE');
    expect((await poll(id)).status).toBe('ONLINE');
    expect((await device(id)).byName.CONTAINERS!.state).toBe('UNAVAILABLE');
    expect(collectorLogs(id, 'containers')).toHaveLength(1);
  });

  it('pollDevice re-probes an UNAVAILABLE collector: the daemon started → OK', async () => {
    const id = await createLocal('engine-starts');
    await poll(id);
    expect((await device(id)).byName.CONTAINERS!.state).toBe('UNAVAILABLE');
    daemon('up');
    try {
      const res = await poll(id);
      expect(res.collectors.find((c) => c.collector === 'containers')).toEqual({ collector: 'containers', ok: true });
      const d = await device(id);
      expect(d.byName.CONTAINERS).toMatchObject({ state: 'OK', reason: null });
      expect(d.status).toBe('ONLINE');
    } finally {
      daemon('down');
    }
  });

  it('a collector that worked and then fails is FAILING and the device DEGRADED; back to ONLINE when it works again', async () => {
    daemon('up');
    const id = await createLocal('engine-dies');
    try {
      expect((await poll(id)).status).toBe('ONLINE');
      expect((await device(id)).byName.CONTAINERS!.state).toBe('OK');
      daemon('down');
      expect((await poll(id)).status).toBe('DEGRADED');
      expect((await poll(id)).status).toBe('DEGRADED');
      const d = await device(id);
      expect(d.byName.CONTAINERS).toMatchObject({ state: 'FAILING', reason: expect.stringContaining(DAEMON_DOWN) });
      expect(d.lastError).toContain('containers');
      expect(collectorLogs(id, 'containers').map((l) => l.msg)).toEqual(['collector failing']);
      daemon('up');
      expect((await poll(id)).status).toBe('ONLINE');
      expect((await device(id)).byName.CONTAINERS!.state).toBe('OK');
    } finally {
      daemon('down');
    }
  });
});

describe('collector settings per device', { timeout: 120_000 }, () => {
  it('createDevice switches a collector off (DISABLED, never run) and sets another one\'s interval', async () => {
    const id = await createLocal('settings', [{ name: 'CONTAINERS', enabled: false }, { name: 'SYSTEM', intervalSeconds: 60 }]);
    const calls = dockerCalls();
    const res = await poll(id);
    expect(res.collectors.map((c) => c.collector)).not.toContain('containers');
    expect(dockerCalls()).toBe(calls);
    const d = await device(id);
    expect(d.byName.CONTAINERS).toMatchObject({ state: 'DISABLED', enabled: false, lastRunAt: null });
    expect(d.byName.SYSTEM).toMatchObject({ state: 'OK', intervalSeconds: 60, intervalOverride: 60 });
    expect(d.intervals.system).toBe(60);
  });

  it('updateDevice switches it on again (history forgotten) with its own interval, and off again', async () => {
    const id = await createLocal('toggle');
    await poll(id);
    expect((await device(id)).byName.CONTAINERS!.state).toBe('UNAVAILABLE');
    let res = await app.gql<{ updateDevice: { __typename: string } }>(UPDATE, { id, input: { collectors: [{ name: 'CONTAINERS', enabled: false }] } });
    expect(res.body.data?.updateDevice.__typename).toBe('Device');
    expect((await device(id)).byName.CONTAINERS).toMatchObject({ state: 'DISABLED', enabled: false });
    const calls = dockerCalls();
    await poll(id);
    expect(dockerCalls()).toBe(calls);

    res = await app.gql(UPDATE, { id, input: { collectors: [{ name: 'CONTAINERS', enabled: true, intervalSeconds: 45 }] } });
    expect(res.body.data?.updateDevice.__typename).toBe('Device');
    expect((await device(id)).byName.CONTAINERS).toMatchObject({ state: null, enabled: true, intervalSeconds: 45, intervalOverride: 45 });
    const stored = await app.db.prisma.device.findUniqueOrThrow({ where: { id } });
    expect(stored).toMatchObject({ disabledCollectors: smartctlHere ? ['drives'] : [], containerInterval: 45 });
    expect(Object.keys(stored.collectorStates as object)).not.toContain('containers');
    await poll(id);
    expect((await device(id)).byName.CONTAINERS!.state).toBe('UNAVAILABLE');

    res = await app.gql(UPDATE, { id, input: { collectors: [{ name: 'CONTAINERS', intervalSeconds: null }] } });
    expect((await device(id)).byName.CONTAINERS).toMatchObject({ intervalOverride: null, intervalSeconds: 30 });
  });

  it('bad settings are a ValidationError naming the field, and change nothing', async () => {
    const id = await createLocal('bad-settings');
    const bad = async (collectors: unknown[], intervals?: unknown) => {
      const res = await app.gql<{ updateDevice: { __typename: string; issues: { path: string[]; message: string }[] } }>(UPDATE, { id, input: { collectors, ...(intervals ? { intervals } : {}) } });
      expect(res.body.data?.updateDevice.__typename).toBe('ValidationError');
      return res.body.data!.updateDevice.issues.map((i) => i.path.join('.'));
    };
    expect(await bad([{ name: 'SYSTEM', intervalSeconds: 4 }])).toEqual(['input.collectors.0.intervalSeconds']);
    expect(await bad([{ name: 'CONTAINERS', intervalSeconds: 86_401 }])).toEqual(['input.collectors.0.intervalSeconds']);
    expect(await bad([{ name: 'SYSTEM' }, { name: 'SYSTEM', enabled: false }])).toEqual(['input.collectors.1.name']);
    expect(await bad(COLLECTOR_NAMES.map((name) => ({ name: name.toUpperCase(), enabled: false })))).toEqual(['input.collectors']);
    expect(await bad([{ name: 'SYSTEM', intervalSeconds: 60 }], { system: 120 })).toEqual(['input.intervals.system']);
    const create = await app.gql<{ createDevice: { __typename: string; issues: { path: string[] }[] } }>(CREATE, { input: { name: 'bad-create', transport: 'LOCAL', collectors: [{ name: 'DRIVES', intervalSeconds: 3 }] } });
    expect(create.body.data?.createDevice).toEqual({ __typename: 'ValidationError', issues: [{ path: ['input', 'collectors', '0', 'intervalSeconds'], message: expect.stringMatching(/5 to 604800/) }] });
    const d = await device(id);
    expect(d.collectors.every((c) => c.intervalOverride === null)).toBe(true);
    expect(d.byName.SYSTEM!.enabled).toBe(true);
  });
});
