import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HWMON_COMMAND, hwmonCommand, parseHwmonDump, type HwmonChip } from '../../../src/collectors/sensors.ts';
import { readHwmonTree } from '../../../src/collectors/hwmon-tree.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { caseInput, corpusIt, fixturePath } from '../../helpers/fixtures.ts';
import { CORETEMP_NCT6798_NVME, OLD_DRIVER_DEVICE_DIR, writeHwmonTree } from '../../helpers/hwmon-trees.ts';

const temps = (c: HwmonChip) => c.temperatures.map((t) => [t.label, t.celsius, t.maxCelsius, t.critCelsius]);
const fans = (c: HwmonChip) => c.fans.map((f) => [f.label, f.rpm, f.minRpm]);
const sh = (root: string) => execFileSync('/bin/sh', ['-c', hwmonCommand(root)], { encoding: 'utf8' });

/** The collector's command (in a real shell) and the parse kind's reader see the same tree. */
async function sameBothWays(root: string): Promise<ReturnType<typeof parseHwmonDump>> {
  const dump = sh(root);
  expect(await readHwmonTree(root)).toBe(dump);
  return parseHwmonDump(dump);
}

describe('parseHwmonDump', () => {
  it('reads coretemp, a Super I/O with a stopped fan and an NVMe drive (our case)', async () => {
    const { chips, skipped } = await sameBothWays(writeHwmonTree(CORETEMP_NCT6798_NVME));
    expect(skipped).toEqual([]);
    expect(chips.map((c) => [c.id, c.name])).toEqual([['hwmon0', 'coretemp'], ['hwmon1', 'nct6798'], ['hwmon10', 'nvme']]);
    expect(temps(chips[0]!)).toEqual([['Package id 0', 48, 80, 100], ['Core 0', 45, 80, 100], ['Core 8', 47, 80, 100]]);
    expect(chips[0]!.temperatures.map((t) => t.sensor)).toEqual(['temp1', 'temp2', 'temp10']);
    // the empty temp2_label falls back to the attribute stem; voltages and PWM are not read
    expect(temps(chips[1]!)).toEqual([['SYSTIN', 38, null, null], ['temp2', 41.5, null, null]]);
    expect(fans(chips[1]!)).toEqual([['fan1', 0, 300], ['fan2', 1245, 0]]);
    // 65261850 m°C is how NVMe says "no threshold"
    expect(temps(chips[2]!)).toEqual([['Composite', 39.85, 84.85, 89.85], ['Sensor 1', 41.85, null, null]]);
  });

  it('reads attributes under device/ (old drivers) and lists a sensor whose input file is empty', async () => {
    const { chips } = await sameBothWays(writeHwmonTree(OLD_DRIVER_DEVICE_DIR));
    expect(chips).toEqual([
      {
        id: 'hwmon0',
        name: 'w83627hf',
        temperatures: [
          { sensor: 'temp1', label: 'temp1', celsius: 37, maxCelsius: null, critCelsius: null },
          { sensor: 'temp2', label: 'temp2', celsius: null, maxCelsius: 60, critCelsius: null },
        ],
        fans: [{ sensor: 'fan1', label: 'fan1', rpm: 2250, minRpm: 1000 }],
      },
    ]);
  });

  it('the captured dumps are what the command prints for the written trees', async () => {
    expect(caseInput('hwmon', 'command-dump-of-coretemp-nct6798-nvme')).toBe(sh(writeHwmonTree(CORETEMP_NCT6798_NVME)));
    expect(caseInput('hwmon', 'command-dump-of-old-driver-device-dir')).toBe(sh(writeHwmonTree(OLD_DRIVER_DEVICE_DIR)));
  });

  it('prefers hwmonN/ over hwmonN/device/ and skips what is not an attribute line', () => {
    const r = parseHwmonDump(
      'hwmon0/name:acpitz\nhwmon0/temp1_input:27800\nhwmon0/device/temp1_input:99000\nhwmon0/device/name:LNXTHERM:00\n' +
        'hwmon0/temp2_input:hot\ngrep: hwmon0/temp3_input: No data available\n/sys/class/hwmon/hwmon1/name:k10temp\n',
    );
    expect(r.chips.map((c) => [c.id, c.name, temps(c)])).toEqual([
      ['hwmon0', 'acpitz', [['temp1', 27.8, null, null]]],
      ['hwmon1', 'k10temp', []],
    ]);
    expect(r.skipped.map((s) => [s.line, s.reason])).toEqual([
      [5, 'expected an integer in temp2_input'],
      [6, 'expected "hwmonN/<attribute>:<value>" (name, tempN_*, fanN_*)'],
    ]);
    expect(() => parseHwmonDump('sh: 1: grep: not found\n')).toThrow(ParseError);
  });

  it('says when the host has no hwmon class at all', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'infrapulse-nohwmon-'));
    expect(sh(empty)).toBe('@@ip:no-hwmon\n');
    expect(await readHwmonTree(empty)).toBe('@@ip:no-hwmon\n');
    expect(parseHwmonDump('@@ip:no-hwmon\n')).toEqual({ chips: [], skipped: [] });
    expect(HWMON_COMMAND).toContain("cd '/sys/class/hwmon'");
    // a subshell: joined into a longer script, its cd moves nothing else
    const joined = `${hwmonCommand(writeHwmonTree(CORETEMP_NCT6798_NVME))}\npwd`;
    expect(execFileSync('/bin/sh', ['-c', joined], { cwd: empty, encoding: 'utf8' }).endsWith(`\n${empty}\n`)).toBe(true);
  });

  corpusIt('reads the three hwmon trees of the corpus, the command and the reader agreeing', async () => {
    const core = await sameBothWays(fixturePath('hwmon/coretemp-pkg-4core-node_exporter'));
    expect(core.chips.map((c) => [c.id, c.name])).toEqual([['hwmon0', 'coretemp']]);
    expect(temps(core.chips[0]!)).toEqual([
      ['Physical id 0', 55, 84, 100], ['Core 0', 54, 84, 100], ['Core 1', 52, 84, 100], ['Core 2', 53, 84, 100], ['Core 3', 50, 84, 100],
    ]);

    const nct = await sameBothWays(fixturePath('hwmon/nct6779-fan-voltage-pwm-node_exporter'));
    expect(nct.chips).toEqual([{ id: 'hwmon3', name: 'nct6779', temperatures: [], fans: [{ sensor: 'fan2', label: 'fan2', rpm: 1098, minRpm: 0 }] }]);

    const nvme = await sameBothWays(fixturePath('hwmon/nvme-x2-k10temp-telegraf'));
    expect(nvme.chips.map((c) => [c.id, c.name, temps(c)])).toEqual([
      ['hwmon0', 'nvme', [['Composite', 32.85, 81.85, 84.85], ['Sensor 1', 32.85, null, null], ['Sensor 2', 36.85, null, null]]],
      ['hwmon1', 'nvme', [['Composite', 35.85, 81.85, 84.85], ['Sensor 1', 35.85, null, null], ['Sensor 2', 37.85, null, null]]],
      ['hwmon2', 'k10temp', [['Tctl', 31.875, null, null], ['Tccd1', 30.75, null, null]]],
    ]);
    for (const r of [core, nct, nvme]) expect(r.skipped).toEqual([]);
  });
});
