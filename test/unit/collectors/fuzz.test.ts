// Random, truncated, mutated and binary input must never make a parser throw anything but
// ParseError: hosts print surprising things, and one bad poll must not crash the poller.
// Every kind is seeded from its golden cases (test/fixtures/cases/<kind>/), so a new kind is
// fuzzed as soon as it has a case; the shared corpus adds seeds where it is present.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARSE_KINDS, readKindInput } from '../../../src/collectors/parse-command.ts';
import { parseSystemOutput } from '../../../src/collectors/system.ts';
import { parseDrivesOutput } from '../../../src/collectors/drives.ts';
import { parseContainersOutput } from '../../../src/collectors/containers.ts';
import { parseStorageOutput, storageRows } from '../../../src/collectors/pools.ts';
import { parseDockerInspect } from '../../../src/collectors/docker.ts';
import { parseProcPidStats } from '../../../src/collectors/processes.ts';
import { parseTopProcesses } from '../../../src/collectors/top-processes.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { captured, caseInput, casesDir, corpusIt, fixturePath } from '../../helpers/fixtures.ts';
import { rng } from '../../../src/random.ts';

const ALPHABET = ' \t\n\n\n:%/.-@{}[]()",0123456789abcdefkKMGiB|#cpu_=*';

function mutations(seed: string, r: () => number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 5;
    if (kind === 0) out.push(seed.slice(0, Math.floor(r() * seed.length))); // truncated
    else if (kind === 1) {
      const chars = seed.split('');
      for (let k = 0; k < 1 + r() * 8; k++) chars[Math.floor(r() * chars.length)] = ALPHABET[Math.floor(r() * ALPHABET.length)]!;
      out.push(chars.join(''));
    } else if (kind === 2) {
      let s = '';
      for (let k = 0; k < r() * 400; k++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
      out.push(s);
    } else if (kind === 3) {
      let s = '';
      for (let k = 0; k < r() * 300; k++) s += String.fromCharCode(Math.floor(r() * 65536));
      out.push(s);
    } else {
      const lines = seed.split('\n');
      const a = Math.floor(r() * lines.length);
      lines.splice(a, 1 + Math.floor(r() * 3), lines[Math.floor(r() * lines.length)] ?? '');
      out.push(lines.join('\n'));
    }
  }
  return out;
}

/** Extra seeds from the shared corpus (file, or a directory for hwmon). */
const CORPUS_SEEDS: Record<string, string[]> = {
  'proc-stat': ['proc/stat-8cpu-node_exporter', 'proc/stat-legacy-2.4-2.6-jc'],
  meminfo: ['proc/meminfo-16G-telegraf'],
  loadavg: ['proc/loadavg-busy-sysstat'],
  uptime: ['proc/uptime-2h-sysstat'],
  'net-dev': ['proc/net-dev-docker-veth-procfs'],
  diskstats: ['proc/diskstats-mixed-node_exporter'],
  df: ['misc/df-PT-long-filesystem-jc.txt', 'misc/df-centos7-lvm-jc.txt'],
  smartctl: ['smartctl/sata-ssd-samsung860evo-x.json', 'smartctl/scan-j-sata-nvme.json'],
  'docker-ps': ['docker/api-containers-list-watchtower.json'],
  'docker-stats': ['docker/stats-no-stream-table-genieparser.txt', 'docker/api-stats-oneshot-cgroupv2-otel.json'],
  mdstat: ['misc/mdstat-many-states-node_exporter', 'mdstat/raid10-check-94pct-bitmap-telegraf'],
  'zpool-status': ['zpool-status/degraded-unavail-was-dev-logs-smartos-textfile', 'misc/zpool-status-unavail-faulted-jc.txt'],
  'zpool-list': ['zpool-list/p-header-faulted-pool-netdata', 'misc/zpool-list-Hv-pve.txt'],
  'btrfs-device-stats': ['btrfs-device-stats/synology-corruption-1014-linux-btrfs-ml.txt'],
  systemctl: ['systemctl/list-units-rhel7-openstack-4failed-insights.txt'],
  hwmon: ['hwmon/nvme-x2-k10temp-telegraf', 'hwmon/nct6779-fan-voltage-pwm-node_exporter'],
  'nvidia-smi': ['nvidia-smi/query-gpu-all-fields-h200-load-nvgpuexp.csv', 'nvidia-smi/query-gpu-csv-nounits-16x-v100-sxm3-slurm-monitor.csv'],
  ps: ['process/ps-aux-centos77-jc.txt'],
  'proc-pid-stat': ['process/proc-pid-stat-vim-running-procfs'],
};

function onlyParseErrors(parse: (t: string) => unknown, inputs: string[], label: string): void {
  for (const input of inputs) {
    try {
      parse(input);
    } catch (err) {
      if (!(err instanceof ParseError)) {
        throw new Error(`${label}: ${String(err)} for input ${JSON.stringify(input.slice(0, 200))}`);
      }
      expect(Number.isInteger(err.line) && err.line >= 0).toBe(true);
    }
  }
}

describe('parsers under random input', () => {
  for (const kind of Object.keys(PARSE_KINDS)) {
    it(`${kind} throws only ParseError (seeded from its golden cases)`, async () => {
      const parse = PARSE_KINDS[kind]!;
      const names = readdirSync(`${casesDir}${kind}`).sort();
      expect(names.length).toBeGreaterThan(0);
      for (const [i, name] of names.entries()) {
        const text = await readKindInput(kind, `${casesDir}${kind}/${name}/input`);
        onlyParseErrors(parse, mutations(text, rng(1000 + i), 300), `${kind}/${name}`);
      }
    });
  }

  corpusIt('every kind throws only ParseError on mutations of corpus files', async () => {
    expect(Object.keys(CORPUS_SEEDS).sort()).toEqual(Object.keys(PARSE_KINDS).sort());
    for (const [kind, files] of Object.entries(CORPUS_SEEDS)) {
      const parse = PARSE_KINDS[kind]!;
      for (const [i, f] of files.entries()) {
        const text = await readKindInput(kind, fixturePath(f));
        onlyParseErrors(parse, mutations(text, rng(2000 + i), 300), `${kind} ${f}`);
      }
    }
  });

  it('the whole-output parsers of the collectors throw only ParseError (or nothing)', () => {
    const r = rng(7);
    onlyParseErrors(parseSystemOutput, mutations(captured('system-poll-1.txt'), r, 400), 'system');
    onlyParseErrors(parseContainersOutput, mutations(captured('containers-poll.stdout'), r, 300), 'containers');
    onlyParseErrors(parseDockerInspect, mutations(captured('docker-inspect-compact.txt'), r, 200), 'inspect');
    onlyParseErrors(parseProcPidStats, mutations(captured('proc-pid-stat-all.txt'), r, 300), 'proc-pid-stats');
    onlyParseErrors(parseTopProcesses, mutations(captured('top-processes-nobody.txt'), r, 300), 'top-processes');
    const drives = `@@ip:scan 0\n/dev/sda -d sat\n@@ip:drive /dev/sda sat\n${caseInput('smartctl', 'ata-pending-sectors-written')}\n@@ip:rc 0\n@@ip:end\n`;
    onlyParseErrors(parseDrivesOutput, mutations(drives, r, 300), 'drives');
    const storage = `@@ip:mdstat\n${caseInput('mdstat', 'raid5-spare-raid1-recovery-written')}@@ip:zpool-list 0\n${caseInput('zpool-list', 'command-two-pools-written')}@@ip:zpool-status\n${caseInput('zpool-status', 'resilver-replacing-spares-special-written')}@@ip:rc 0\n@@ip:btrfs\n${caseInput('btrfs-device-stats', 'command-two-filesystems')}@@ip:end\n`;
    onlyParseErrors((text: string) => storageRows(parseStorageOutput(text), 'd', new Date(0)), mutations(storage, r, 400), 'storage');
  });

  it('JSON of the wrong shape is a ParseError or a report, never a TypeError', () => {
    for (const text of ['null', '[]', '"x"', '{"smartctl": null}', '{"smartctl": {}, "ata_smart_attributes": {"table": [null, 1, {"id": 5}]}}', '{"smartctl":{"messages":[null,{"severity":"error"}]}}', '[null]', '{"devices": [null, {"name": 5}]}', '{"smartctl":{"argv":["smartctl","--scan"]},"devices":{}}']) {
      for (const parse of Object.values(PARSE_KINDS)) onlyParseErrors(parse, [text], text);
    }
  });
});
