/**
 * The device page's Checks, Hardware and Drives cards in chromium, against the fleet simulator
 * polled by the real poller: two checks created through createCheck show their latest status and
 * message (the simulated backup is CRITICAL), the pool and the md array are DEGRADED, the sensors
 * and the GPU show their readings; when the simulator's clock moves on, the backup turns OK, the
 * pool ONLINE and a fan STOPPED on screen without a reload (checkResultChanged, poolsCollected,
 * sensorsCollected). An OPERATOR acknowledges a drive's counters; a VIEWER has no such button.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { registerDevices, startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { BACKUP_MARK } from '../../../src/simulator/render-checks.ts';
import { chromiumAvailable, launchChromium, signedInPage, startDashboardApp, type DashboardApp } from '../../helpers/dashboard.ts';

const POLL = '5';
/** Seconds into the fault cycle at the start: the backup has failed and a disk is lost (render-checks.ts, render-hardware.ts). */
const AT_S = 750;
/** Then: backup fine, disk back and resilvered, a fan stopped, a reboot pending. */
const LATER_S = 1250;

let app: DashboardApp;
let sim: Simulator;
let browser: Browser | undefined;
let deviceId = '';
let shiftMs = 0;

async function gql(token: string, query: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown };
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

beforeAll(async () => {
  if (!chromiumAvailable) return;
  const now = Date.now();
  sim = await startSimulator({ devices: 1, seed: 7, clock: () => Date.now() + shiftMs, startMs: now - AT_S * 1000 });
  app = await startDashboardApp({
    pollSeconds: Number(POLL),
    env: { MONITOR_LOCALHOST: 'false', POLLING_STORAGE_INTERVAL: POLL, POLLING_SENSORS_INTERVAL: POLL, POLLING_GPU_INTERVAL: POLL },
  });
  const reg = await registerDevices({ url: `${app.url}/graphql`, token: app.adminToken, hostname: sim.host, port: sim.port, usernames: sim.usernames });
  deviceId = reg.created[0]!.id!;
  for (const [name, command] of [
    ['backup age', `/usr/lib/nagios/plugins/check_file_age -w 93600 -c 93600 -f ${BACKUP_MARK}`],
    ['reboot pending', '! test -f /var/run/reboot-required'],
  ]) {
    const r = await gql(app.adminToken, `mutation { createCheck(input: { name: ${JSON.stringify(name)}, command: ${JSON.stringify(command)}, intervalSeconds: 10 }) { __typename } }`);
    expect(r).toEqual({ createCheck: { __typename: 'Check' } });
  }
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await sim?.stop().catch(() => undefined);
});

test.skipIf(!chromiumAvailable)('checks and hardware health show, then follow the host live', async () => {
  const { token } = await app.token('VIEWER', 'watcher');
  const page = await signedInPage(browser!, app, token, `/devices/${deviceId}`);
  const checks = page.getByRole('region', { name: 'Checks' });
  const backup = checks.getByRole('row', { name: 'backup age check' });
  await backup.getByText('CRITICAL', { exact: true }).waitFor({ timeout: 30_000 });
  expect(await backup.innerText()).toMatch(new RegExp(`FILE_AGE CRITICAL: ${BACKUP_MARK} is \\d+ seconds old and 0 bytes`));
  expect(await backup.locator('time').innerText()).toMatch(/^\d+ s ago$/);
  await checks.getByRole('row', { name: 'reboot pending check' }).getByText('OK', { exact: true }).waitFor();

  const hardware = page.getByRole('region', { name: 'Hardware' });
  await hardware.getByRole('row', { name: 'tank pool' }).getByText('DEGRADED', { exact: true }).waitFor({ timeout: 30_000 });
  await hardware.getByRole('row', { name: 'md0 pool' }).getByText('DEGRADED', { exact: true }).waitFor({ timeout: 30_000 });
  expect(await hardware.getByRole('row', { name: 'md0 pool' }).innerText()).toContain('raid1');
  const gpu = hardware.getByRole('row', { name: 'NVIDIA GeForce RTX 3090 GPU' });
  await gpu.waitFor({ timeout: 30_000 });
  expect(await gpu.innerText()).toMatch(/46 °C\s+7 %\s+1\.0 GiB \/ 24\.0 GiB/);
  await hardware.getByRole('row', { name: 'Package id 0 sensor' }).getByText('OK', { exact: true }).waitFor({ timeout: 30_000 });
  const fan = hardware.getByRole('row', { name: 'fan2 sensor' });
  expect(await fan.innerText()).toMatch(/820 RPM\s+OK/);

  // The host moves on: the page follows its subscriptions, no reload.
  shiftMs = (LATER_S - AT_S) * 1000;
  await backup.getByText('OK', { exact: true }).waitFor({ timeout: 40_000 });
  expect(await backup.innerText()).toMatch(/FILE_AGE OK: /);
  await checks.getByRole('row', { name: 'reboot pending check' }).getByText('WARNING', { exact: true }).waitFor({ timeout: 40_000 });
  await hardware.getByRole('row', { name: 'tank pool' }).getByText('ONLINE', { exact: true }).waitFor({ timeout: 30_000 });
  await fan.getByText('STOPPED', { exact: true }).waitFor({ timeout: 30_000 });
  expect(await fan.innerText()).toContain('0 RPM');

  // Drives: the self-test log of an ATA drive, and no acknowledge button for a VIEWER.
  const drives = page.getByRole('region', { name: 'Drives' });
  // Seed 7's host 1 has a failing SATA drive (its self-test failed) and an NVMe one (no log in the simulator).
  const [ata, nvme] = sim.profile(sim.usernames[0]!)!.drives;
  expect([ata!.deviceType, ata!.fate, nvme!.deviceType]).toEqual(['sat', 'failing', 'nvme']);
  await drives.getByRole('row', { name: `${ata!.device} drive` }).getByText('Self-tests (1)').click();
  const log = drives.getByRole('table', { name: `${ata!.device} self-tests` });
  expect(await log.getByRole('row').nth(1).innerText()).toMatch(/^Short offline\s+Completed: read failure\s+\d+$/);
  await drives.getByRole('row', { name: `${nvme!.device} drive` }).getByText('no self-test logged').waitFor();
  expect(await drives.getByRole('button', { name: /Acknowledge counters/ }).count()).toBe(0);
  expect(page.problems).toEqual([]);
  await page.close();
}, 180_000);

test.skipIf(!chromiumAvailable)('an OPERATOR acknowledges a drive\'s counters', async () => {
  const { token } = await app.token('OPERATOR', 'ops');
  const page = await signedInPage(browser!, app, token, `/devices/${deviceId}`);
  const drives = page.getByRole('region', { name: 'Drives' });
  const profile = sim.profile(sim.usernames[0]!)!;
  // Host 1's last drive is degrading: its counters are above zero until acknowledged.
  const degrading = profile.drives.at(-1)!;
  const row = drives.getByRole('row', { name: `${degrading.device} drive` });
  await row.getByText('never acknowledged').waitFor({ timeout: 30_000 });
  expect(await row.innerText()).toMatch(/\+[1-9]\d*/);
  await row.getByRole('button', { name: `Acknowledge counters of ${degrading.device}` }).click();
  await row.getByText(/acknowledged .* by ops/).waitFor({ timeout: 15_000 });
  const stored = await app.db.prisma.driveBaseline.findMany({ where: { deviceId } });
  expect(stored.map((b) => b.drive)).toContain(degrading.serial);
  expect(page.problems).toEqual([]);
  await page.close();
}, 90_000);
