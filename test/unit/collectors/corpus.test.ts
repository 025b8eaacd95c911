// Every file of the shared corpus (../shared/fixtures) is accounted for: read by an
// `infrapulse parse` kind (with nothing skipped), expected to be refused, or listed with the
// reason no kind reads it. A file added to the corpus fails this test until it is placed here
// and given hand-read assertions in its kind's test file.
import { readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARSE_KINDS, readKindInput } from '../../../src/collectors/parse-command.ts';
import { parseDockerInspect } from '../../../src/collectors/docker.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { corpusDir, corpusIt, corpusMode, fixture, fixturePath } from '../../helpers/fixtures.ts';
import { corpusSummary } from '../../helpers/corpus-reporter.ts';

/** kind → corpus files (a directory for hwmon) that kind reads. */
const READ_BY_KIND: Record<string, string[]> = {
  'proc-stat': ['proc/stat-16cpu-telegraf', 'proc/stat-4cpu-guest-gopsutil', 'proc/stat-8cpu-node_exporter', 'proc/stat-legacy-2.4-2.6-jc'],
  meminfo: ['proc/meminfo-16G-telegraf', 'proc/meminfo-4G-kvm-guest-pcp', 'proc/meminfo-4G-node_exporter', 'proc/meminfo-64G-server-jamescun', 'proc/meminfo-zswap-procfs'],
  loadavg: ['proc/loadavg-busy-sysstat', 'proc/loadavg-node_exporter'],
  uptime: ['proc/uptime-186days-jamescun', 'proc/uptime-2h-sysstat'],
  'net-dev': ['proc/net-dev-docker-veth-procfs', 'proc/net-dev-many-eth-hpbl920gen8'],
  diskstats: [
    'proc/diskstats-many-sd-hpbl920gen8', 'proc/diskstats-mixed-node_exporter', 'proc/diskstats-nvme-mdraid-jamescun',
    'proc/diskstats-vda-rbd-ceph-pcp', 'proc/diskstats-vda-zram-dm-pcp',
  ],
  df: ['misc/df-PT-long-filesystem-jc.txt', 'misc/df-centos7-lvm-jc.txt', 'misc/df-ubuntu1804-snap-loops-jc.txt'],
  smartctl: [
    'smartctl/attributes-only-jA.json', 'smartctl/error-open-failed-exit2.json', 'smartctl/health-only-jH-pass.json',
    'smartctl/nvme-peladn-smartctl75.json', 'smartctl/nvme-sabrent-rocket4-smartctl74.json', 'smartctl/nvme-samsung970evo-media-errors-x.json',
    'smartctl/sas-seagate-st1200mm0088-10krpm.json', 'smartctl/sata-hdd-seagate-st3500418as-304-realloc.json', 'smartctl/sata-hdd-wd140edfz-a.json',
    'smartctl/sata-ssd-samsung860evo-x.json', 'smartctl/sata-ssd-wd-red-4tb-netdata.json', 'smartctl/scan-j-sata-nvme.json',
    'smartctl/scsi-hp-mas3735nc-15krpm.json', 'smartctl/scsi-sde-smartctl73-debian12.json', 'smartctl/usb-sat-sandisk-pssd.json',
  ],
  'docker-ps': ['docker/api-containers-list-watchtower.json'],
  'docker-stats': ['docker/api-stats-oneshot-cgroupv1-otel.json', 'docker/api-stats-oneshot-cgroupv2-otel.json', 'docker/stats-no-stream-table-genieparser.txt'],
  mdstat: [
    'mdstat/empty-no-arrays-pymdstat', 'mdstat/raid0-nvme-raid1-bitmap-pymdstat', 'mdstat/raid10-check-94pct-bitmap-telegraf',
    'mdstat/raid1x3-raid5-10disk-healthy-pymdstat', 'mdstat/raid5-degraded-3of4-telegraf', 'misc/mdstat-many-states-node_exporter',
  ],
  'zpool-status': [
    'zpool-status/degraded-removed-device-zse', 'zpool-status/degraded-unavail-was-dev-logs-smartos-textfile',
    'zpool-status/online-2pools-raidz1-nvme-mirror-textfile', 'zpool-status/online-cksum-errors-11.7K-lifeguard',
    'zpool-status/scrub-in-progress-mirror-zse', 'misc/zpool-status-mirrors-features-jc.txt', 'misc/zpool-status-unavail-faulted-jc.txt',
  ],
  'zpool-list': ['zpool-list/Hp-4pools-freenas-telegraf', 'zpool-list/Hp-zroot-freebsd14-telegraf', 'zpool-list/p-header-faulted-pool-netdata', 'misc/zpool-list-Hv-pve.txt'],
  hwmon: ['hwmon/coretemp-pkg-4core-node_exporter', 'hwmon/nct6779-fan-voltage-pwm-node_exporter', 'hwmon/nvme-x2-k10temp-telegraf'],
  'nvidia-smi': [
    'nvidia-smi/query-gpu-all-fields-h200-load-nvgpuexp.csv', 'nvidia-smi/query-gpu-all-fields-rtx4080super-idle-nvgpuexp.csv',
    'nvidia-smi/query-gpu-csv-nounits-16x-v100-sxm3-slurm-monitor.csv',
  ],
  'btrfs-device-stats': [
    'btrfs-device-stats/raid10-6dev-all-zero-linux-btrfs-ml.txt', 'btrfs-device-stats/single-dm-lvm-all-zero-linux-btrfs-ml.txt',
    'btrfs-device-stats/synology-corruption-1014-linux-btrfs-ml.txt',
  ],
  systemctl: ['systemctl/list-units-all-centos77-0failed-jc.txt', 'systemctl/list-units-all-ubuntu1804-0failed-jc.txt', 'systemctl/list-units-rhel7-openstack-4failed-insights.txt'],
  ps: ['process/ps-aux-centos77-jc.txt'],
  'proc-pid-stat': ['process/proc-pid-stat-vim-running-procfs'],
};

/** Text smartctl output: the smartctl kind reads JSON only and must say so (exit 1), not guess. */
const REFUSED_BY_KIND: Record<string, string[]> = {
  smartctl: ['smartctl/text-H-health-passed-pve.txt', 'smartctl/text-HA-brief-seagate-hdd-pve.txt', 'smartctl/text-HA-nvme-pve.txt', 'smartctl/text-sas-health-seagate-pve.txt'],
};

/** Read by a collector-level parser that is no parse kind (the containers collector's inspect). */
const READ_BY_INSPECT = ['docker/inspect-exited-watchtower.json', 'docker/inspect-running-gluetun-compose-watchtower.json', 'docker/inspect-running-portainer-watchtower.json'];

/** What no collector reads (yet), and why. */
const NOT_READ: Record<string, string> = {
  'misc/free-ubuntu1804-swapused-jc.txt': 'free: memory comes from /proc/meminfo',
  'misc/free-w-wide-jc.txt': 'free: memory comes from /proc/meminfo',
  'misc/lsblk-allcols-ubuntu1804-jc.txt': 'lsblk: no collector lists block devices',
  'misc/lsblk-json-path-parttype-fstype-pve.json': 'lsblk: no collector lists block devices',
  'misc/lsblk-tree-lvm-centos7-jc.txt': 'lsblk: no collector lists block devices',
  'misc/os-release-arch-facter': 'os-release: not collected',
  'misc/os-release-centos7-jc': 'os-release: not collected',
  'misc/os-release-debian10-noeol-facter': 'os-release: not collected',
  'misc/os-release-rhel-with-comment-facter': 'os-release: not collected',
  'misc/sensors-Au-asus-amd-laptop-netdata.txt': 'lm-sensors output: sensors are read from /sys/class/hwmon (the hwmon kind)',
  'misc/sensors-j-asrock-nct6798-nvme-coretemp.json': 'lm-sensors output: sensors are read from /sys/class/hwmon (the hwmon kind)',
  'misc/sensors-j-coretemp-2nvme-acpitz.json': 'lm-sensors output: sensors are read from /sys/class/hwmon (the hwmon kind)',
  'misc/uname-a-centos7-jc.txt': 'uname: not collected',
  'misc/uname-a-debian-jc.txt': 'uname: not collected',
  'proc/cpuinfo-32cpu-amd-opteron-6132-pcp': 'cpuinfo: CPUs are counted from /proc/stat',
  'proc/cpuinfo-aarch64-xgene-8cpu-pcp': 'cpuinfo: CPUs are counted from /proc/stat',
  'proc/cpuinfo-arm64-thunderx-noeol-facter': 'cpuinfo: CPUs are counted from /proc/stat',
  'proc/cpuinfo-armv7-4core-gopsutil': 'cpuinfo: CPUs are counted from /proc/stat',
  'proc/cpuinfo-hygon-c86-gopsutil': 'cpuinfo: CPUs are counted from /proc/stat',
  'proc/cpuinfo-i7-8650U-8thread': 'cpuinfo: CPUs are counted from /proc/stat',
  'proc/cpuinfo-s390x-2cpu-pcp': 'cpuinfo: CPUs are counted from /proc/stat',
  'proc/mounts-fedora-cgroupv1-sysstat': 'mounts: filesystems come from df',
  'process/proc-pid-status-systemd-jc': '/proc/[pid]/status: processes are read from ps and /proc/[pid]/stat',
};

function corpusEntries(): string[] {
  const out: string[] = [];
  for (const dir of readdirSync(corpusDir).sort()) {
    if (!statSync(corpusDir + dir).isDirectory()) continue;
    for (const name of readdirSync(corpusDir + dir).sort()) out.push(`${dir}/${name}`);
  }
  return out;
}

corpusIt('every corpus file is read by a kind, refused on purpose, or listed with why not', () => {
  const placed = [
    ...Object.values(READ_BY_KIND).flat(),
    ...Object.values(REFUSED_BY_KIND).flat(),
    ...READ_BY_INSPECT,
    ...Object.keys(NOT_READ),
  ].sort();
  expect(placed).toEqual(corpusEntries());
  expect(Object.keys(READ_BY_KIND).sort()).toEqual(Object.keys(PARSE_KINDS).sort());
});

corpusIt('each kind reads each of its corpus files with nothing skipped', async () => {
  for (const [kind, files] of Object.entries(READ_BY_KIND)) {
    for (const f of files) {
      const result = PARSE_KINDS[kind]!(await readKindInput(kind, fixturePath(f))) as { skipped?: unknown[] };
      expect(result.skipped ?? [], `${kind} ${f}`).toEqual([]);
    }
  }
  for (const f of READ_BY_INSPECT) expect(parseDockerInspect(fixture(f)).skipped, f).toEqual([]);
});

corpusIt('the kinds refuse what they must not guess at', async () => {
  for (const [kind, files] of Object.entries(REFUSED_BY_KIND)) {
    for (const f of files) {
      const text = await readKindInput(kind, fixturePath(f));
      expect(() => PARSE_KINDS[kind]!(text), `${kind} ${f}`).toThrow(ParseError);
    }
  }
});

describe('without the corpus', () => {
  it('a corpus test is skipped outside CI and runs (to fail) under CI=true', () => {
    expect(corpusMode(true, false)).toBe('run');
    expect(corpusMode(true, true)).toBe('run');
    expect(corpusMode(false, false)).toBe('skip');
    expect(corpusMode(false, true)).toBe('run');
  });

  it('the run says how many corpus cases ran or were skipped, and why', () => {
    const here = { dir: '/x/shared/fixtures/', available: true, required: false };
    expect(corpusSummary({ ran: 0, failed: 0, skipped: 0 }, here)).toBeNull();
    expect(corpusSummary({ ran: 40, failed: 1, skipped: 0 }, here)).toBe('corpus (/x/shared/fixtures/): 40 cases ran (1 failed), 0 skipped');
    expect(corpusSummary({ ran: 0, failed: 0, skipped: 40 }, { ...here, available: false })).toBe(
      "corpus (/x/shared/fixtures/): 0 cases ran, 40 skipped: the corpus is not there (the repository's own fixtures still ran; CI=true makes this a failure)",
    );
    expect(corpusSummary({ ran: 40, failed: 40, skipped: 0 }, { ...here, available: false, required: true })).toBe(
      'corpus (/x/shared/fixtures/): 40 cases ran (40 failed), 0 skipped: the corpus is missing and CI=true requires it',
    );
  });
});
