/**
 * The dashboard against the fleet simulator with a real poller, in chromium: an operator adds
 * a host through the form (infrapulse's own key, connection tested first, plain-words
 * failures), the host comes ONLINE on screen, and stopping it turns it OFFLINE on screen
 * within the poll interval plus a few seconds; operator controls work; alerts fire live and
 * are acknowledged, silenced and expired; a VIEWER sees none of the controls.
 *
 * The poller here declares a host OFFLINE after one unreachable poll (tuning.offlineAfter 1,
 * the default is 3) so that "poll interval plus a few seconds" measures the dashboard, not
 * the status machine's patience.
 */
import net from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { chromiumAvailable, launchChromium, signedInPage, startDashboardApp, type DashboardApp } from '../../helpers/dashboard.ts';

const POLL_SECONDS = 5;
let app: DashboardApp;
let sim: Simulator;
let browser: Browser | undefined;
let operator: string;
let viewer: string;
let deviceId = '';

beforeAll(async () => {
  if (!chromiumAvailable) return;
  sim = await startSimulator({ devices: 2, seed: 7 });
  app = await startDashboardApp({ pollSeconds: POLL_SECONDS, tuning: { offlineAfter: 1, probeBaseMs: 1000, probeMaxMs: 2000, sshBackoff: { baseMs: 500, maxMs: 1000 } }, env: { MONITOR_LOCALHOST: 'false' } });
  operator = (await app.token('OPERATOR', 'ops')).token;
  viewer = (await app.token('VIEWER', 'watcher')).token;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await sim?.stop().catch(() => undefined);
});

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test.skipIf(!chromiumAvailable)('adding a host: the key line, a tested connection, failures in plain words, then the device', async () => {
  const page = await signedInPage(browser!, app, operator, '/');
  await page.getByRole('link', { name: 'Add host' }).click();
  const line = page.getByLabel('authorized_keys line');
  await expect.poll(() => line.innerText()).toMatch(/^no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty ssh-ed25519 AAAA\S+ infrapulse@/);
  expect((await line.innerText()).trim()).toBe((await import('node:fs')).readFileSync(`${app.dataDir}/id_ed25519.pub`, 'utf8').trim().replace(/^/, 'no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty '));

  const form = page.getByRole('form', { name: 'Add a host' });
  const status = page.getByRole('region', { name: 'Connection' }).locator('.notice');
  const username = sim.usernames[0]!;

  await form.getByLabel('Host name or address').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(await closedPort()));
  await form.getByLabel('User name').fill(username);
  await form.getByRole('button', { name: 'Test connection' }).click();
  await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/refused the connection: nothing listens for SSH on port \d+/);
  expect(await form.getByRole('button', { name: 'Add host' }).isDisabled()).toBe(true);

  await form.getByLabel('Host name or address').fill('no-such-host.invalid');
  await form.getByLabel('Port').fill('22');
  await form.getByRole('button', { name: 'Test connection' }).click();
  await expect.poll(() => status.innerText(), { timeout: 20_000 }).toMatch(/"no-such-host.invalid" could not be found \(DNS\)/);

  await form.getByLabel('Host name or address').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(sim.port));
  await form.getByLabel('Name in infrapulse').fill('sim-one');
  await form.getByLabel('Tags').fill('lab, sim');
  await form.getByRole('button', { name: 'Test connection' }).click();
  await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(new RegExp(`Connected in \\d+ ms: .*The host key is ${sim.hostKeyFingerprint.replace(/[+/]/g, '\\$&')}`));
  await form.getByRole('button', { name: 'Add host' }).click();

  await page.getByRole('heading', { level: 1, name: 'sim-one' }).waitFor();
  const device = await app.db.prisma.device.findUniqueOrThrow({ where: { name: 'sim-one' } });
  deviceId = device.id;
  expect(new URL(page.url()).pathname).toBe(`/devices/${device.id}`);
  // No private key was pasted: the device logs in with infrapulse's key, pinned to the tested host key.
  expect([device.credentialId, device.hostKeyFingerprint, device.tags]).toEqual([null, sim.hostKeyFingerprint, ['lab', 'sim']]);
  await expect.poll(() => page.locator('.device-head .badge').innerText(), { timeout: 20_000 }).toMatch(/^(ONLINE|DEGRADED)$/);
  expect(page.problems).toEqual([]);
  await page.close();
}, 90_000);

test.skipIf(!chromiumAvailable)('an operator polls now, edits the device and switches monitoring', async () => {
  const page = await signedInPage(browser!, app, operator, `/devices/${deviceId}`);
  await page.getByRole('heading', { level: 1, name: 'sim-one' }).waitFor();
  await page.getByRole('button', { name: 'Poll now' }).click();
  await expect.poll(() => page.locator('.actions .notice').innerText(), { timeout: 20_000 }).toMatch(/^Polled in \d+ ms: (ONLINE|DEGRADED)\./);

  // The busiest processes on the host, read when asked: the simulated workload is among them.
  const top = page.getByRole('region', { name: 'Top processes' });
  await top.getByRole('button', { name: 'By CPU' }).click();
  await top.getByRole('cell', { name: '/usr/bin/python3 /opt/app/worker.py --queue default' }).waitFor({ timeout: 20_000 });
  expect(await top.locator('caption').innerText()).toMatch(/^10 of \d+ processes, CPU over 0\.5 s$/);
  await top.getByRole('button', { name: 'By memory' }).click();
  await expect.poll(() => top.locator('tbody tr').count()).toBe(10);

  await page.getByRole('button', { name: 'Edit' }).click();
  const edit = page.getByRole('form', { name: 'Edit device' });
  await edit.getByLabel('Tags').fill('lab, sim, edited');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect.poll(async () => (await app.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } })).tags).toEqual(['lab', 'sim', 'edited']);
  await expect.poll(() => page.locator('.device-head .tags').innerText()).toContain('edited');

  await page.getByRole('button', { name: 'Disable monitoring' }).click();
  await expect.poll(() => page.locator('.device-head .badge').innerText()).toBe('DISABLED');
  await page.getByRole('button', { name: 'Enable monitoring' }).click();
  // Live, the badge follows UNKNOWN → ONLINE. Twice, beside the whole suite, it stayed on UNKNOWN and
  // the test reloaded the page (suspected: a status event published while the page's subscriptions
  // were not yet listening); loads now wait until the server listens (web/src/live.ts).
  await expect.poll(() => page.locator('.device-head .badge').innerText(), { timeout: 20_000 }).toMatch(/^(ONLINE|DEGRADED)$/);
  await page.close();
}, 90_000);

test.skipIf(!chromiumAvailable)('alerts fire live; an operator acknowledges, silences and expires; rules are created and switched', async () => {
  const page = await signedInPage(browser!, app, operator, '/alerts');
  await page.getByRole('button', { name: 'New rule…' }).click();
  const form = page.getByRole('form', { name: 'New rule' });
  await form.getByLabel('Name').fill('busy lab');
  await form.getByLabel('Metric').selectOption('CPU_PERCENT');
  await form.getByLabel('Comparator').selectOption('GTE');
  await form.getByLabel('Threshold').fill('0');
  await form.getByLabel('Tags').fill('lab');
  await form.getByRole('button', { name: 'Create rule' }).click();
  const rules = page.getByRole('region', { name: 'Alert rules' });
  await rules.getByRole('cell', { name: 'busy lab', exact: true }).waitFor();

  // The next sample of the lab device makes it fire; the list updates without a reload.
  const open = page.getByRole('region', { name: 'Open alerts' });
  const alert = open.getByRole('listitem').filter({ hasText: 'busy lab' });
  await expect.poll(() => alert.locator('.badge').first().innerText(), { timeout: 30_000 }).toBe('FIRING');
  await alert.getByRole('button', { name: 'Acknowledge' }).click();
  await expect.poll(() => alert.locator('.badge').first().innerText()).toBe('ACKNOWLEDGED');

  await alert.getByRole('button', { name: 'Silence…' }).click();
  await alert.getByLabel('Comment').fill('maintenance');
  await alert.getByRole('button', { name: 'Create silence' }).click();
  const silences = page.getByRole('region', { name: 'Silences' });
  await silences.getByText('maintenance').waitFor();
  await silences.getByRole('button', { name: 'Expire' }).click();
  await expect.poll(() => silences.innerText()).toContain('None.');
  const silence = await app.db.prisma.silence.findFirstOrThrow({ where: { comment: 'maintenance' } });
  expect(silence.endsAt.getTime()).toBeLessThan(Date.now() + 60_000);

  await rules.getByLabel('Enable busy lab').uncheck();
  await expect.poll(async () => (await app.db.prisma.alertRule.findFirstOrThrow({ where: { name: 'busy lab' } })).enabled).toBe(false);
  expect(page.problems).toEqual([]);
  await page.close();
}, 90_000);

test.skipIf(!chromiumAvailable)('a VIEWER sees the fleet, the device and the alerts, and no control that changes anything', async () => {
  const page = await signedInPage(browser!, app, viewer, '/');
  await page.getByRole('link', { name: 'sim-one' }).waitFor();
  expect(await page.locator('.who').innerText()).toContain('VIEWER');
  expect(await page.getByRole('link', { name: 'Add host' }).count()).toBe(0);

  await page.getByRole('link', { name: 'sim-one' }).click();
  await page.getByRole('figure', { name: 'CPU' }).waitFor();
  for (const name of ['Poll now', 'Edit', 'Disable monitoring', 'Enable monitoring', /^Trust/, 'By CPU']) expect(await page.getByRole('button', { name }).count()).toBe(0);
  expect(await page.getByRole('region', { name: 'Top processes' }).count()).toBe(0);

  await page.getByRole('link', { name: 'Alerts' }).click();
  await page.getByRole('region', { name: 'Alert rules' }).getByRole('cell', { name: 'busy lab', exact: true }).waitFor();
  for (const name of ['New rule…', 'Acknowledge', 'Silence…', 'Expire', 'Edit']) expect(await page.getByRole('button', { name }).count()).toBe(0);
  expect(await page.getByRole('checkbox').count()).toBe(0);

  await page.goto(`${app.url}/add-host`);
  await expect.poll(() => page.getByRole('alert').innerText()).toContain('needs an OPERATOR or ADMIN token');
  expect(await page.getByRole('button', { name: 'Test connection' }).count()).toBe(0);
  await page.close();
}, 60_000);

test.skipIf(!chromiumAvailable)('stopping the simulated host turns it OFFLINE on screen within the poll interval plus a few seconds', async () => {
  const page = await signedInPage(browser!, app, viewer, '/');
  const status = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'sim-one' }) }).getByRole('cell').nth(1);
  await expect.poll(() => status.innerText(), { timeout: 20_000 }).toMatch(/^(ONLINE|DEGRADED)$/);
  const stopped = Date.now();
  await sim.stop();
  await expect.poll(() => status.innerText(), { timeout: (POLL_SECONDS + 5) * 1000, interval: 100 }).toBe('OFFLINE');
  const seconds = (Date.now() - stopped) / 1000;
  expect(seconds).toBeLessThan(POLL_SECONDS + 5);
  expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);
  await page.close();
}, 60_000);
