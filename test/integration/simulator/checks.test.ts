// The simulator's answers to what checks run (docs/checks.md): read as a check reads them
// (evaluateCheck), over a whole fault cycle each failure appears inside its window and clears;
// systemctl's listing reads through the real systemctl parser; and the same commands go over
// the real SSH runner, so a demo or bench check sees statuses change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateCheck, type CheckStatus } from '../../../src/collectors/checks.ts';
import { parseSystemctl } from '../../../src/collectors/systemd.ts';
import { classifyCommand, runCommand } from '../../../src/simulator/commands.ts';
import { startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { buildHostProfile } from '../../../src/simulator/profile.ts';
import { BACKUP_MARK, checkFaults } from '../../../src/simulator/render-checks.ts';
import { FAULT_CYCLE_S } from '../../../src/simulator/render-hardware.ts';
import { hostClock, renderDf, renderLoadavg } from '../../../src/simulator/render-system.ts';
import type { SshRunner } from '../../../src/transport/ssh.ts';
import { manualClock, runnerFor } from './helpers.ts';

const START = Date.UTC(2026, 11, 1);
const BACKUP = `/usr/lib/nagios/plugins/check_file_age -w 93600 -c 93600 -f ${BACKUP_MARK}`;
const FAILED_UNITS = 'systemctl list-units --state=failed --plain --no-legend';
const REBOOT = '! test -f /var/run/reboot-required';

const exitCodeCheck = { kind: 'EXIT_CODE' as const, jsonPaths: [] };
const statusOf = (stdout: string, code: number): CheckStatus => evaluateCheck(exitCodeCheck, { stdout, stderr: '', code }).status;

describe('simulated check commands', () => {
  it('are recognised as checks, and unrelated commands stay "not found"', () => {
    for (const c of [BACKUP, FAILED_UNITS, REBOOT, 'systemctl is-active ssh', '[ -f /run/reboot-required ]', 'check_disk -w 20% -c 10% -p /', 'check_load -r']) expect(classifyCommand(c)).toBe('checks');
    expect(classifyCommand('check_http -H x')).toBe('unknown');
    const h = buildHostProfile(1, { devices: 3, seed: 5 });
    expect(runCommand(h, 'check_http -H x', { nowMs: START, startMs: START }).code).toBe(127);
  });

  it('the backup, failed units and reboot flag fail inside their windows and clear, on host 1 over one cycle', () => {
    const h = buildHostProfile(1, { devices: 3, seed: 5 });
    const seen = new Map<string, Set<string>>([['backup', new Set()], ['failed', new Set()], ['reboot', new Set()], ['isActive', new Set()]]);
    for (let s = 0; s < FAULT_CYCLE_S; s += 20) {
      const t = { nowMs: START + s * 1000, startMs: START };
      const f = checkFaults(h, t);
      const backup = runCommand(h, BACKUP, t);
      const backupResult = evaluateCheck(exitCodeCheck, backup);
      expect(backupResult.status).toBe(f.backupAgeS > 93600 ? 'CRITICAL' : 'OK');
      expect(backupResult.values.age).toBe(f.backupAgeS);
      expect(backupResult.message).toMatch(new RegExp(`^FILE_AGE (OK|CRITICAL): ${BACKUP_MARK} is \\d+ seconds old and 0 bytes$`));
      seen.get('backup')!.add(backupResult.status);

      const listing = runCommand(h, FAILED_UNITS, t);
      expect(listing.code).toBe(0);
      const failed = listing.stdout === '' ? [] : parseSystemctl(listing.stdout).failed;
      expect(failed).toEqual([...(f.backupFailed ? ['backup.service'] : []), ...(f.certbotFailed ? ['certbot.service'] : [])]);
      seen.get('failed')!.add(failed.join(','));

      const reboot = runCommand(h, REBOOT, t);
      expect(statusOf(reboot.stdout, reboot.code)).toBe(f.rebootRequired ? 'WARNING' : 'OK');
      seen.get('reboot')!.add(String(f.rebootRequired));

      const active = runCommand(h, 'systemctl is-active backup.service', t);
      expect(active).toEqual({ stdout: f.backupFailed ? 'failed\n' : 'inactive\n', stderr: '', code: 3 });
      const ssh = runCommand(h, 'systemctl is-active ssh', t);
      expect([ssh.stdout, ssh.code]).toEqual(['active\n', 0]);
      seen.get('isActive')!.add(active.stdout);
    }
    expect([...seen.get('backup')!].sort()).toEqual(['CRITICAL', 'OK']);
    expect([...seen.get('failed')!].sort()).toEqual(['', 'backup.service', 'certbot.service']);
    expect([...seen.get('reboot')!].sort()).toEqual(['false', 'true']);
    expect([...seen.get('isActive')!].sort()).toEqual(['failed\n', 'inactive\n']);
  });

  it('check_disk and check_load read the same usage and load as df and /proc/loadavg, on every host', () => {
    for (let i = 1; i <= 20; i++) {
      const h = buildHostProfile(i, { devices: 20, seed: 8 });
      const t = { nowMs: START + i * 77_000, startMs: START };
      const c = hostClock(h, t.nowMs);
      const root = renderDf(h, c).split('\n').map((l) => l.split(/\s+/)).find((r) => r[6] === '/')!;
      const disk = runCommand(h, '/usr/lib/nagios/plugins/check_disk -w 20% -c 10% -p /', t);
      const diskResult = evaluateCheck(exitCodeCheck, disk);
      expect(diskResult.values['/']).toBe(Number(root[3]));
      const freePct = Math.round((Number(root[4]) * 100) / (Number(root[3]) + Number(root[4])));
      expect(diskResult.status).toBe(freePct < 10 ? 'CRITICAL' : freePct < 20 ? 'WARNING' : 'OK');
      expect(diskResult.message).toContain(`(${freePct}% inode=96%)`);

      const load = renderLoadavg(h, c).split(' ').slice(0, 3).map(Number);
      const plain = evaluateCheck(exitCodeCheck, runCommand(h, 'check_load -w 5,4,3 -c 10,8,6', t));
      expect([plain.values.load1, plain.values.load5, plain.values.load15]).toEqual(load);
      const worst = Math.max(...load.map((l, k) => (l > [10, 8, 6][k]! ? 2 : l > [5, 4, 3][k]! ? 1 : 0)));
      expect(plain.status).toBe(['OK', 'WARNING', 'CRITICAL'][worst]);
      const scaled = evaluateCheck(exitCodeCheck, runCommand(h, 'check_load -w 5,4,3 -c 10,8,6 -r', t));
      expect(scaled.values.scaled_load1).toBe(Number((load[0]! / h.cores).toFixed(3)));
      expect(scaled.message).toMatch(/^LOAD (OK|WARNING|CRITICAL) - scaled load average: [\d.]+, [\d.]+, [\d.]+ - total load average: /);
    }
    const h = buildHostProfile(2, { devices: 20, seed: 8 });
    const missing = runCommand(h, 'check_disk -w 20% -c 10% -p /nope', { nowMs: START, startMs: START });
    expect([missing.code, missing.stdout]).toEqual([2, 'DISK CRITICAL - /nope is not accessible: No such file or directory\n']);
    expect(runCommand(h, 'check_file_age -w 1 -c 2 -f /etc/other', { nowMs: START, startMs: START }).code).toBe(2);
  });
});

describe('over SSH', () => {
  const clock = manualClock(START);
  let sim: Simulator;
  let runner: SshRunner;
  beforeAll(async () => {
    sim = await startSimulator({ devices: 2, seed: 5, clock: clock.now, startMs: START });
    runner = runnerFor(sim, sim.usernames[0]!);
  });
  afterAll(async () => {
    await runner?.close();
    await sim?.stop();
  });

  it('a check command answers as the host is at the time, and the simulator counts it as a check', async () => {
    const profile = sim.profile(sim.usernames[0]!)!;
    const okAt = START + 10_000;
    clock.set(okAt);
    expect(checkFaults(profile, { nowMs: okAt, startMs: START }).backupFailed).toBe(false);
    const ok = await runner.exec(BACKUP);
    expect([evaluateCheck(exitCodeCheck, ok).status, ok.code]).toEqual(['OK', 0]);

    clock.set(START + 800_000);
    const failing = await runner.exec(BACKUP);
    expect(evaluateCheck(exitCodeCheck, failing)).toMatchObject({ status: 'CRITICAL', values: { age: 30 * 3600 + 100 } });
    expect((await runner.exec(FAILED_UNITS)).stdout).toMatch(/^backup\.service +loaded failed +failed +Nightly backup to the NAS\n$/);
    expect(sim.stats().execs.checks).toBe(3);
  });
});
