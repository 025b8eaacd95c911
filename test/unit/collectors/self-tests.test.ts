/** The SMART self-test log and the error counters a drive baseline compares (issue 19 item 4). */
import { describe, expect, it } from 'vitest';
import { counterIncrease, driveCounters, driveSelfTests } from '../../../src/collectors/drives.ts';
import { selfTestLog } from '../../../src/collectors/smartctl.ts';
import { corpusIt, fixture } from '../../helpers/fixtures.ts';
import { driveRow } from '../../helpers/rows.ts';

const corpusJson = (name: string) => JSON.parse(fixture(`smartctl/${name}`)) as Record<string, unknown>;

describe('selfTestLog', () => {
  corpusIt('an ATA drive\'s standard log, newest first (WD140EDFZ, values read from the file)', () => {
    const log = selfTestLog(corpusJson('sata-hdd-wd140edfz-a.json'));
    expect(log).toHaveLength(21);
    expect(log[0]).toEqual({ kind: 'Short offline', status: 'Completed without error', passed: true, lifetimeHours: 1708 });
    expect(log[4]).toEqual({ kind: 'Extended offline', status: 'Completed without error', passed: true, lifetimeHours: 1624 });
  });

  corpusIt('the extended log when smartctl gives it (Samsung 860 EVO); an NVMe drive with no entries has none', () => {
    const log = selfTestLog(corpusJson('sata-ssd-samsung860evo-x.json'));
    expect(log).toHaveLength(19);
    expect(log[0]).toEqual({ kind: 'Short offline', status: 'Completed without error', passed: true, lifetimeHours: 14417 });
    expect(selfTestLog(corpusJson('nvme-sabrent-rocket4-smartctl74.json'))).toEqual([]);
  });

  it('a failed ATA test, and NVMe entries (smartctl 7.4 format): aborted is not a failure', () => {
    const log = selfTestLog({
      ata_smart_self_test_log: { standard: { table: [{ type: { value: 2, string: 'Extended offline' }, status: { value: 121, string: 'Completed: read failure', passed: false }, lifetime_hours: 40_512 }] } },
      nvme_self_test_log: {
        table: [
          { self_test_code: { value: 1, string: 'Short' }, self_test_result: { value: 0, string: 'Completed without error' }, power_on_hours: 900 },
          { self_test_code: { value: 2, string: 'Extended' }, self_test_result: { value: 1, string: 'Aborted: Self-test command' }, power_on_hours: 880 },
          { self_test_code: { value: 2, string: 'Extended' }, self_test_result: { value: 7, string: 'Completed with failed segment' }, power_on_hours: 870 },
        ],
      },
    });
    expect(log.map((t) => [t.kind, t.passed, t.lifetimeHours])).toEqual([['Extended offline', false, 40_512], ['Short', true, 900], ['Extended', null, 880], ['Extended', false, 870]]);
  });

  it('odd shapes give no entries rather than a failure', () => {
    expect(selfTestLog({})).toEqual([]);
    expect(selfTestLog({ ata_smart_self_test_log: { standard: { table: 'x' } }, nvme_self_test_log: { table: [null, 3] } })).toEqual([
      { kind: 'unknown', status: 'unknown', passed: null, lifetimeHours: null },
      { kind: 'unknown', status: 'unknown', passed: null, lifetimeHours: null },
    ]);
  });
});

describe('drive counters', () => {
  const at = new Date('2026-12-01T00:00:00Z');

  corpusIt('CRC errors come from attribute 199 of the stored smartctl output (WD140EDFZ: 0); stored rows without it have null', () => {
    const row = driveRow('d', at, '/dev/sda', { attributes: { smartctl: corpusJson('sata-hdd-wd140edfz-a.json') } });
    expect(driveCounters(row).crcErrors).toBe(0);
    expect(driveCounters(driveRow('d', at, '/dev/sdb')).crcErrors).toBeNull();
    expect(driveSelfTests(row)).toHaveLength(21);
  });

  it('the increase is summed per counter above the baseline, never negative, and above zero without one', () => {
    const now = { reallocatedSectors: 310, pendingSectors: 0, uncorrectableErrors: null, mediaErrors: null, crcErrors: 4 };
    expect(counterIncrease(now, undefined)).toBe(314);
    expect(counterIncrease(now, { reallocatedSectors: 304, crcErrors: 4 })).toBe(6);
    expect(counterIncrease(now, { reallocatedSectors: 400, pendingSectors: 2, crcErrors: 1 })).toBe(3); // a counter below its baseline (a replaced drive reusing the serial) counts 0
  });
});
