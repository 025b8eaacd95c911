import { describe, expect, it } from 'vitest';
import { SYSTEMCTL_COMMAND, SYSTEMCTL_FAILED_COMMAND, parseSystemctl } from '../../../src/collectors/systemd.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';

describe('parseSystemctl', () => {
  it('reads the default listing: header, ● markers, legend and footer (our case)', () => {
    const { units, failed, skipped } = parseSystemctl(caseInput('systemctl', 'default-markers-legend-written'));
    expect(skipped).toEqual([]);
    expect(units).toHaveLength(13);
    expect(failed).toEqual(['nightly-backup.service']);
    expect(units[3]).toEqual({ unit: 'nightly-backup.service', load: 'loaded', active: 'failed', sub: 'failed', job: null, description: 'Nightly restic backup to /mnt/backup' });
    expect(units.find((u) => u.unit === 'nfs-client.target')).toMatchObject({ load: 'not-found', active: 'active' });
    expect(units[0]).toMatchObject({ unit: 'sys-devices-virtual-net-wg0.device', sub: 'plugged', description: '/sys/devices/virtual/net/wg0' });
    expect(units.find((u) => u.unit === '-.mount')!.description).toBe('Root Mount');
  });

  it('reads the failed-units command output, and its empty output on a healthy host', () => {
    expect(parseSystemctl(caseInput('systemctl', 'failed-command-written'))).toMatchObject({
      failed: ['nightly-backup.service', 'smartd.service'],
      units: [{ sub: 'failed' }, { description: 'Self Monitoring and Reporting Technology (SMART) Daemon' }],
    });
    expect(parseSystemctl('')).toEqual({ units: [], failed: [], skipped: [] });
    expect(SYSTEMCTL_FAILED_COMMAND).toBe('systemctl list-units --plain --no-legend --no-pager --full --state=failed');
    expect(SYSTEMCTL_COMMAND).toBe('systemctl list-units --plain --no-legend --no-pager --full --all');
  });

  it('reads the JOB column, blank for units without a pending job', () => {
    const { units } = parseSystemctl(caseInput('systemctl', 'job-column-written'));
    expect(units.map((u) => [u.unit, u.active, u.sub, u.job, u.description])).toEqual([
      ['docker.service', 'activating', 'start', 'start', 'Docker Application Container Engine'],
      ['network-online.target', 'inactive', 'dead', 'start', 'Network is Online'],
      ['ssh.service', 'active', 'running', null, 'OpenBSD Secure Shell server'],
      ['cron.service', 'deactivating', 'stop-sigterm', 'stop', 'Regular background program processing daemon'],
    ]);
  });

  it('skips a row that is no unit and rejects output with none', () => {
    const r = parseSystemctl('ssh.service loaded active running OpenBSD Secure Shell server\nWarning: some units are not shown\n');
    expect(r.units.map((u) => u.unit)).toEqual(['ssh.service']);
    expect(r.skipped.map((s) => s.line)).toEqual([2]);
    expect(() => parseSystemctl('Failed to connect to bus: Host is down\n')).toThrow(ParseError);
  });

  corpusIt('reads the CentOS 7.7 and Ubuntu 18.04 listings (--all, no failed unit)', () => {
    const centos = parseSystemctl(fixture('systemctl/list-units-all-centos77-0failed-jc.txt'));
    expect(centos.skipped).toEqual([]);
    expect(centos.units).toHaveLength(220);
    expect(centos.failed).toEqual([]);
    expect(centos.units[0]).toEqual({
      unit: 'proc-sys-fs-binfmt_misc.automount', load: 'loaded', active: 'active', sub: 'waiting', job: null,
      description: 'Arbitrary Executable File Formats File System Automount Point',
    });
    expect(centos.units.find((u) => u.unit === 'dev-block-8:2.device')!.description).toMatch(/^LVM PV 3klkIj-w1qk-DkJi-0XBJ-y3o7-i2Ac-vHqWBM on \/dev\/sd/);
    expect(centos.units.filter((u) => u.load === 'not-found')).toHaveLength(19);
    expect(centos.units.at(-1)).toMatchObject({ unit: 'systemd-tmpfiles-clean.timer', active: 'active', sub: 'waiting' });

    const ubuntu = parseSystemctl(fixture('systemctl/list-units-all-ubuntu1804-0failed-jc.txt'));
    expect(ubuntu.skipped).toEqual([]);
    expect(ubuntu.units).toHaveLength(334);
    expect(ubuntu.failed).toEqual([]);
    // lines right-padded to the DESCRIPTION width: the description is trimmed
    expect(ubuntu.units.at(-1)).toEqual({
      unit: 'ureadahead-stop.timer', load: 'loaded', active: 'inactive', sub: 'dead', job: null,
      description: 'Stop ureadahead data collection 45s after completed startup',
    });
    expect(ubuntu.units.find((u) => u.unit.startsWith('dev-disk-by\\x2dlabel-Ubuntu'))!.unit).toBe('dev-disk-by\\x2dlabel-Ubuntu\\x2dServer\\x5cx2018.04.3\\x5cx20LTS\\x5cx20amd64.device');
  });

  corpusIt('reads the RHEL 7 listing: ● and * markers, four failed units, one listed twice', () => {
    const rhel = parseSystemctl(fixture('systemctl/list-units-rhel7-openstack-4failed-insights.txt'));
    expect(rhel.skipped).toEqual([]);
    expect(rhel.units).toHaveLength(190);
    expect(rhel.failed).toEqual(['docker-storage-setup.service', 'NetworkManager-wait-online.service', 'ovirt-guest-agent.service', 'openstack-swift-proxy.service']);
    expect(rhel.units.find((u) => u.unit === 'docker-storage-setup.service')).toEqual({
      unit: 'docker-storage-setup.service', load: 'loaded', active: 'failed', sub: 'failed', job: null, description: 'Docker Storage Setup',
    });
    // the test authors appended a failed row for a unit listed earlier as running: both rows stay
    expect(rhel.units.filter((u) => u.unit === 'openstack-swift-proxy.service').map((u) => u.active)).toEqual(['active', 'failed']);
  });
});
