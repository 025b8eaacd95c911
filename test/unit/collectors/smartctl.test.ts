import { describe, expect, it } from 'vitest';
import { decodeExitStatus, driveKey, parseSmartctl, parseSmartctlScan } from '../../../src/collectors/smartctl.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';

const report = (f: string) => parseSmartctl(fixture(`smartctl/${f}`)).report;

describe('parseSmartctl', () => {
  corpusIt('SATA HDD with 304 reallocated sectors: passed but WARNING', () => {
    const r = report('sata-hdd-seagate-st3500418as-304-realloc.json');
    expect(r).toMatchObject({
      protocol: 'ATA', model: 'ST3500418AS', capacityBytes: 500107862016, temperatureC: 33,
      powerOnHours: 44668, reallocatedSectors: 304, pendingSectors: 0, uncorrectableErrors: 0,
      mediaErrors: null, smartPassed: true, health: 'WARNING', exitStatus: 0,
    });
    expect(r.healthReasons).toEqual(['reallocated sectors: 304']);
  });

  corpusIt('WD 14 TB SATA HDD: HEALTHY, temperature from temperature.current not attribute 194', () => {
    const r = report('sata-hdd-wd140edfz-a.json');
    expect(r).toMatchObject({
      model: 'WDC WD140EDFZ-11A0VA0', serial: '9RK1XXXX', firmware: '81.00A81', capacityBytes: 14000519643136,
      temperatureC: 32, powerOnHours: 1730, reallocatedSectors: 0, pendingSectors: 0, uncorrectableErrors: 0,
      smartPassed: true, health: 'HEALTHY',
    });
  });

  corpusIt('Samsung 860 EVO -x: uncorrectable from 187, healthy', () => {
    const r = report('sata-ssd-samsung860evo-x.json');
    expect(r).toMatchObject({ model: 'Samsung SSD 860 EVO 500GB', serial: 'S3YZNB0KB00864E', firmware: 'RVT02B6Q', temperatureC: 36, powerOnHours: 14551, uncorrectableErrors: 0, health: 'HEALTHY' });
  });

  corpusIt('WD Red SA500 SSD and the SanDisk USB bridge (no temperature)', () => {
    expect(report('sata-ssd-wd-red-4tb-netdata.json')).toMatchObject({
      model: 'WDC WDS400T1R0A-68A4W0', capacityBytes: 4000787030016, temperatureC: 27, powerOnHours: 8244, health: 'HEALTHY',
    });
    expect(report('usb-sat-sandisk-pssd.json')).toMatchObject({
      protocol: 'ATA', model: 'SanDisk pSSD', serial: '06c9f4c44', capacityBytes: 15693664256, temperatureC: null, powerOnHours: 11, health: 'HEALTHY',
    });
  });

  corpusIt('NVMe drives: percent used, media errors → WARNING', () => {
    expect(report('nvme-sabrent-rocket4-smartctl74.json')).toMatchObject({
      protocol: 'NVMe', model: 'Sabrent Rocket 4.0 1TB', serial: '6D1107091C9583054511', firmware: 'RKT401.3',
      capacityBytes: 1000204886016, temperatureC: 48, powerOnHours: 8733, percentUsed: 4, mediaErrors: 0, criticalWarning: 0, health: 'HEALTHY',
    });
    expect(report('nvme-peladn-smartctl75.json')).toMatchObject({
      model: 'PELADN 512GB', capacityBytes: 512110190592, temperatureC: 61, powerOnHours: 4399, percentUsed: 0, health: 'HEALTHY',
    });
    const bad = report('nvme-samsung970evo-media-errors-x.json');
    expect(bad).toMatchObject({ model: 'Samsung SSD 970 EVO 500GB', temperatureC: 35, powerOnHours: 12798, mediaErrors: 7, percentUsed: 3, smartPassed: true, health: 'WARNING' });
    expect(bad.healthReasons).toContain('media errors: 7');
  });

  corpusIt('SAS/SCSI drives: grown defects as reallocated, uncorrected errors summed', () => {
    expect(report('sas-seagate-st1200mm0088-10krpm.json')).toMatchObject({
      protocol: 'SCSI', model: 'SEAGATE ST1200MM0088', capacityBytes: 1200243695616, temperatureC: 31,
      powerOnHours: 5675, reallocatedSectors: 0, uncorrectableErrors: 0, health: 'HEALTHY',
    });
    expect(report('scsi-hp-mas3735nc-15krpm.json')).toMatchObject({
      model: 'HP 73.4G MAS3735NC', firmware: 'HPC3', capacityBytes: 73407865856, temperatureC: 28, powerOnHours: null, health: 'HEALTHY',
    });
    expect(report('scsi-sde-smartctl73-debian12.json')).toMatchObject({
      model: 'YADRO WUH721414AL4204', serial: '9YHSDH9B', firmware: 'C240', temperatureC: 34, powerOnHours: 458, health: 'HEALTHY',
    });
  });

  corpusIt('partial outputs: -jA has no verdict (UNKNOWN), -jH passes, open failure gives the reason', () => {
    const a = report('attributes-only-jA.json');
    // attribute 9's raw value is packed (167031278144165) and must not become powerOnHours
    expect(a).toMatchObject({ temperatureC: 29, powerOnHours: null, reallocatedSectors: 0, smartPassed: null, health: 'UNKNOWN' });
    expect(report('health-only-jH-pass.json')).toMatchObject({ smartPassed: true, health: 'HEALTHY', model: null });
    const failed = report('error-open-failed-exit2.json');
    expect(failed).toMatchObject({ exitStatus: 2, exitBits: ['DEVICE_OPEN_FAILED'], health: 'UNKNOWN' });
    expect(failed.error).toMatch(/^Smartctl open device: \/dev\/sda failed/);
  });

  it('failed self-assessment and NVMe critical warnings are CRITICAL; exit bits decode', () => {
    const base = JSON.parse(caseInput('smartctl', 'nvme-healthy-written')) as Record<string, unknown>;
    const failing = { ...base, smart_status: { passed: false }, smartctl: { exit_status: 8 } };
    expect(parseSmartctl(JSON.stringify(failing)).report).toMatchObject({ health: 'CRITICAL', exitBits: ['DISK_FAILING'] });
    const warn = { ...base, nvme_smart_health_information_log: { critical_warning: 4, percentage_used: 95 } };
    expect(parseSmartctl(JSON.stringify(warn)).report.health).toBe('CRITICAL');
    const worn = { ...base, nvme_smart_health_information_log: { critical_warning: 0, percentage_used: 90 } };
    expect(parseSmartctl(JSON.stringify(worn)).report.health).toBe('WARNING');
    const errLog = { ...base, smartctl: { exit_status: 64 } };
    expect(parseSmartctl(JSON.stringify(errLog)).report.health).toBe('WARNING');
    expect(decodeExitStatus(0b11000110)).toEqual(['DEVICE_OPEN_FAILED', 'SMART_COMMAND_FAILED', 'ERROR_LOG_ENTRIES', 'SELF_TEST_ERRORS']);
  });

  corpusIt('rejects text output with a line', () => {
    expect(() => parseSmartctl(fixture('smartctl/text-H-health-passed-pve.txt'))).toThrow(ParseError);
    expect(() => parseSmartctl(fixture('smartctl/text-HA-nvme-pve.txt'))).toThrow(ParseError);
  });

  it('reads our own cases: a SATA disk with pending sectors, a virtio disk it cannot open', () => {
    const ata = parseSmartctl(caseInput('smartctl', 'ata-pending-sectors-written')).report;
    // attribute 194's raw value (193273528354) packs min/max: the temperature is temperature.current
    expect(ata).toMatchObject({ temperatureC: 34, powerOnHours: 33412, pendingSectors: 8, uncorrectableErrors: 8, health: 'WARNING' });
    expect(ata.healthReasons).toEqual(['pending sectors: 8', 'uncorrectable errors: 8', 'smartctl: device error log has entries']);
    const vda = parseSmartctl(caseInput('smartctl', 'vda-unable-to-detect')).report;
    expect(vda).toMatchObject({ exitStatus: 1, exitBits: ['COMMAND_LINE_ERROR'], health: 'UNKNOWN', error: '/dev/vda: Unable to detect device type' });
  });

  it('rejects broken JSON and JSON that is not smartctl output', () => {
    expect(() => parseSmartctl('{\n"smartctl": {\n oops')).toThrow(ParseError);
    expect(() => parseSmartctl('{"devices": []}')).toThrow(ParseError);
  });
});

describe('parseSmartctlScan', () => {
  corpusIt('reads the JSON scan fixture', () => {
    expect(parseSmartctlScan(fixture('smartctl/scan-j-sata-nvme.json'))).toEqual([
      { name: '/dev/sda', type: 'sat', openError: null },
      { name: '/dev/nvme0', type: 'nvme', openError: null },
    ]);
  });

  it('reads this machine (no drives)', () => {
    expect(parseSmartctlScan(caseInput('smartctl', 'scan-open-no-drives'))).toEqual([]);
  });

  it('reads the text form, keeps open failures and drops unsafe names', () => {
    const text = [
      '/dev/sda -d sat # /dev/sda [SAT], ATA device',
      '/dev/bus/0 -d megaraid,3 # /dev/bus/0 [megaraid_disk_03], SCSI device',
      '# /dev/sdb -d scsi # /dev/sdb, SCSI device open failed: Permission denied',
      '/dev/sd$(reboot) -d sat # evil',
      '/dev/sdc -d sat;rm # evil type',
    ].join('\n');
    expect(parseSmartctlScan(text)).toEqual([
      { name: '/dev/sda', type: 'sat', openError: null },
      { name: '/dev/bus/0', type: 'megaraid,3', openError: null },
      { name: '/dev/sdb', type: 'scsi', openError: 'Permission denied' },
      { name: '/dev/sdc', type: 'auto', openError: null },
    ]);
    expect(driveKey('/dev/bus/0', 'megaraid,3')).toBe('/dev/bus/0 -d megaraid,3');
    expect(driveKey('/dev/sda', 'sat')).toBe('/dev/sda');
  });
});
