import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PARSE_KINDS, runParse, type ParseIo } from '../../../src/collectors/parse-command.ts';
import { caseInputPath, corpusIt, fixturePath } from '../../helpers/fixtures.ts';
import { CORETEMP_NCT6798_NVME, writeHwmonTree } from '../../helpers/hwmon-trees.ts';

async function run(kind: string, file: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: ParseIo = { stdout: (t) => (out += t), stderr: (t) => (err += t) };
  const code = await runParse(kind, file, io);
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'infrapulse-parse-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('runParse', () => {
  corpusIt('prints each kind as pretty JSON with the documented keys', async () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ['proc-stat', fixturePath('proc/stat-8cpu-node_exporter'), { cpuCount: 8 }],
      ['meminfo', fixturePath('proc/meminfo-16G-telegraf'), { totalBytes: 16201888 * 1024, swapFreeBytes: 4186844 * 1024 }],
      ['loadavg', fixturePath('proc/loadavg-node_exporter'), { load1: 0.21, load5: 0.37, load15: 0.39 }],
      ['uptime', fixturePath('proc/uptime-2h-sysstat'), { uptimeSeconds: 7192.55 }],
      ['df', fixturePath('misc/df-centos7-lvm-jc.txt'), {}],
      ['smartctl', fixturePath('smartctl/sata-hdd-seagate-st3500418as-304-realloc.json'), { health: 'WARNING', reallocatedSectors: 304 }],
      ['smartctl', fixturePath('smartctl/scan-j-sata-nvme.json'), {}],
      ['docker-ps', fixturePath('docker/api-containers-list-watchtower.json'), {}],
      ['docker-stats', fixturePath('docker/stats-no-stream-table-genieparser.txt'), {}],
    ];
    for (const [kind, file, expected] of cases) {
      const r = await run(kind, file);
      expect(r.code, `${kind} ${file}: ${r.err}`).toBe(0);
      expect(r.err).toBe('');
      expect(r.out).toMatch(/^\{\n {2}"/);
      expect(JSON.parse(r.out)).toMatchObject(expected);
    }
    const stat = JSON.parse((await run('proc-stat', fixturePath('proc/stat-8cpu-node_exporter'))).out) as Record<string, unknown>;
    expect(Object.keys(stat)).toEqual(expect.arrayContaining(['cpuCount', 'total', 'cores']));
    const df = JSON.parse((await run('df', fixturePath('misc/df-centos7-lvm-jc.txt'))).out) as { filesystems: Record<string, unknown>[] };
    expect(Object.keys(df.filesystems[0]!)).toEqual(expect.arrayContaining(['filesystem', 'mount', 'sizeBytes', 'usedBytes', 'availableBytes']));
  });

  it('prints our own captures with the documented keys', async () => {
    const netDev = caseInputPath('net-dev', 'kvm-ifb-eth0');
    const diskstats = caseInputPath('diskstats', 'kvm-vda');
    for (const [kind, file] of [['net-dev', netDev], ['diskstats', diskstats]] as const) {
      const r = await run(kind, file);
      expect(r.code, `${kind} ${file}: ${r.err}`).toBe(0);
      expect(r.err).toBe('');
      expect(r.out).toMatch(/^\{\n {2}"/);
    }
    const nd = JSON.parse((await run('net-dev', netDev)).out) as { interfaces: Record<string, unknown>[] };
    expect(Object.keys(nd.interfaces[0]!)).toEqual(['name', 'rxBytes', 'rxPackets', 'rxErrors', 'rxDropped', 'txBytes', 'txPackets', 'txErrors', 'txDropped']);
    const ds = JSON.parse((await run('diskstats', diskstats)).out) as { disks: Record<string, unknown>[] };
    expect(Object.keys(ds.disks[0]!)).toEqual(expect.arrayContaining(['name', 'readsCompleted', 'readBytes', 'writesCompleted', 'writeBytes', 'ioTimeMs', 'whole']));
  });

  it('exits 1 with one line naming file, line and expectation on unreadable input', async () => {
    const bad = write('bad.txt', 'intr 1\nctxt 2\ncpu  1 2 x\n');
    const r = await run('proc-stat', bad);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`${bad}:3: expected "cpu" line with at least 4 numeric fields\n`);
    const text = await run('smartctl', write('smartctl-H.txt', 'smartctl 7.3 2022-02-28 r5338 [x86_64-linux-6.1.0] (local build)\n\n=== START OF READ SMART DATA SECTION ===\nSMART overall-health self-assessment test result: PASSED\n'));
    expect(text.code).toBe(1);
    expect(text.err.trimEnd().split('\n')).toHaveLength(1);
  });

  corpusIt('exits 1 with one line on smartctl text output from the corpus', async () => {
    const text = await run('smartctl', fixturePath('smartctl/text-H-health-passed-pve.txt'));
    expect(text.code).toBe(1);
    expect(text.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('every kind exits 1 with one line naming the file and line on text it cannot read', async () => {
    const garbage = write('garbage.txt', 'garbage line\n');
    for (const kind of Object.keys(PARSE_KINDS)) {
      const r = await run(kind, garbage);
      expect(r.code, kind).toBe(1);
      expect(r.out, kind).toBe('');
      expect(r.err, kind).toMatch(new RegExp(`^${garbage}(:1)?: (expected|unexpected|.*JSON).*\n$`));
    }
  });

  it('hwmon reads a directory laid out as the host\'s / (or a dump file); other kinds want a file', async () => {
    const tree = writeHwmonTree(CORETEMP_NCT6798_NVME);
    const fromDir = await run('hwmon', tree);
    expect(fromDir.code).toBe(0);
    expect((JSON.parse(fromDir.out) as { chips: unknown[] }).chips).toHaveLength(3);
    const dump = await run('hwmon', caseInputPath('hwmon', 'command-dump-of-coretemp-nct6798-nvme'));
    expect(dump.out).toBe(fromDir.out);
    expect(await run('hwmon', dir)).toEqual({ code: 0, out: '{\n  "chips": [],\n  "skipped": []\n}\n', err: '' });
    expect(await run('mdstat', dir)).toEqual({ code: 1, out: '', err: `${dir}: cannot read: is a directory\n` });
    expect((await run('hwmon', join(dir, 'nope'))).err).toBe(`${join(dir, 'nope')}: cannot read: no such file\n`);
  });

  it('exits 1 on a missing file and 2 on an unknown kind', async () => {
    const missing = await run('meminfo', join(dir, 'nope'));
    expect(missing).toEqual({ code: 1, out: '', err: `${join(dir, 'nope')}: cannot read: no such file\n` });
    const unknown = await run('vmstat', join(dir, 'nope'));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^unknown kind "vmstat"; usage: infrapulse parse <kind> <file> {2}\(kinds: proc-stat meminfo/);
    expect(unknown.err.trimEnd().split('\n')).toHaveLength(1);
    expect((await run('__proto__', dir)).code).toBe(2);
  });
});
