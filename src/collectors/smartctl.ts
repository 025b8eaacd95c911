// Pure parsers for smartctl's JSON output (`smartctl -j -x`, compact with `--json=c`; smartctl 6.7 to 7.5) and its
// device scan, plus the drive health rules (documented in index.ts).
import type { DriveHealth, DriveHealthRow } from '../storage/types.ts';
import { ParseError } from './types.ts';
import { fields, isObject, lines, num, obj, parseJson, str, type JsonObject } from './text.ts';

/** smartctl's exit status bits (smartctl(8) "RETURN VALUES"). */
export const SMARTCTL_EXIT_BITS = [
  'COMMAND_LINE_ERROR', // 0: command line did not parse
  'DEVICE_OPEN_FAILED', // 1: open failed, no IDENTIFY answer, or low-power mode
  'SMART_COMMAND_FAILED', // 2: some SMART/ATA command failed or a checksum was wrong
  'DISK_FAILING', // 3: SMART status check returned "DISK FAILING"
  'PREFAIL_AT_THRESHOLD', // 4: prefail attributes at or below threshold now
  'PAST_AT_THRESHOLD', // 5: usage/prefail attributes were at or below threshold in the past
  'ERROR_LOG_ENTRIES', // 6: the device error log has records
  'SELF_TEST_ERRORS', // 7: the self-test log has errors
] as const;
export type SmartctlExitBit = (typeof SMARTCTL_EXIT_BITS)[number];

export function decodeExitStatus(status: number): SmartctlExitBit[] {
  return SMARTCTL_EXIT_BITS.filter((_, bit) => (status & (1 << bit)) !== 0);
}

/** What smartctl says of one drive: the stored row's fields plus the reasons behind them. */
export interface SmartReport
  extends Pick<
    DriveHealthRow,
    | 'protocol' | 'model' | 'serial' | 'firmware' | 'capacityBytes' | 'temperatureC' | 'powerOnHours'
    | 'reallocatedSectors' | 'pendingSectors' | 'uncorrectableErrors' | 'mediaErrors' | 'percentUsed'
    | 'smartPassed' | 'health' | 'exitStatus' | 'error'
  > {
  device: string | null;
  deviceType: string | null;
  /** NVMe critical warning bit field; 0 is fine. */
  criticalWarning: number | null;
  exitBits: SmartctlExitBit[];
  /** Why health is what it is, for people (e.g. "reallocated sectors: 304"). */
  healthReasons: string[];
}

export function ataRaw(table: unknown[], id: number): number | null {
  for (const a of table) {
    if (isObject(a) && a.id === id) return num(obj(a, 'raw'), 'value');
  }
  return null;
}

function sumNullable(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}

function devstatPercentUsed(j: JsonObject): number | null {
  const pages = obj(j, 'ata_device_statistics')?.pages;
  if (!Array.isArray(pages)) return null;
  for (const page of pages) {
    const table = isObject(page) ? page.table : undefined;
    if (!Array.isArray(table)) continue;
    for (const e of table) {
      if (str(e, 'name') === 'Percentage Used Endurance Indicator') return num(e, 'value');
    }
  }
  return null;
}

/** Maps one `smartctl -j` document to a report; `null` fields were not reported. */
export function smartReport(j: JsonObject): SmartReport {
  const smartctl = obj(j, 'smartctl');
  const device = obj(j, 'device');
  const exitStatus = num(smartctl, 'exit_status');
  const exitBits = exitStatus === null ? [] : decodeExitStatus(exitStatus);
  const messages = Array.isArray(smartctl?.messages) ? smartctl.messages : [];
  const errors = messages
    .filter((m) => str(m, 'severity') === 'error')
    .map((m) => str(m, 'string'))
    .filter((m): m is string => m !== null);

  const nvme = obj(j, 'nvme_smart_health_information_log');
  const table = obj(j, 'ata_smart_attributes')?.table;
  const attrs = Array.isArray(table) ? table : [];
  const scsiLog = obj(j, 'scsi_error_counter_log');
  const status = obj(j, 'smart_status');
  const passed = status?.passed;

  const model =
    str(j, 'model_name') ??
    str(j, 'scsi_model_name') ??
    ([str(j, 'scsi_vendor') ?? str(j, 'vendor'), str(j, 'scsi_product') ?? str(j, 'product')]
      .filter((s) => s !== null)
      .join(' ') ||
      null);

  const report: SmartReport = {
    device: str(device, 'name'),
    deviceType: str(device, 'type'),
    protocol: str(device, 'protocol'),
    model: model === null ? null : model.replace(/\s+/g, ' ').trim(),
    serial: str(j, 'serial_number'),
    firmware: str(j, 'firmware_version') ?? str(j, 'scsi_revision') ?? str(j, 'revision'),
    capacityBytes: num(obj(j, 'user_capacity'), 'bytes') ?? num(j, 'nvme_total_capacity'),
    // Never from attribute 194/190: their raw values pack min/max into the upper bytes.
    temperatureC: num(obj(j, 'temperature'), 'current'),
    powerOnHours: num(obj(j, 'power_on_time'), 'hours') ?? num(nvme, 'power_on_hours'),
    reallocatedSectors: ataRaw(attrs, 5) ?? num(j, 'scsi_grown_defect_list'),
    pendingSectors: ataRaw(attrs, 197),
    uncorrectableErrors:
      ataRaw(attrs, 198) ??
      ataRaw(attrs, 187) ??
      (scsiLog === undefined
        ? null
        : sumNullable(
            ['read', 'write', 'verify'].map((k) => num(obj(scsiLog, k), 'total_uncorrected_errors')),
          )),
    mediaErrors: num(nvme, 'media_errors'),
    percentUsed:
      num(nvme, 'percentage_used') ??
      num(obj(j, 'endurance_used'), 'current_percent') ??
      num(j, 'scsi_percentage_used_endurance_indicator') ??
      devstatPercentUsed(j),
    smartPassed: typeof passed === 'boolean' ? passed : null,
    criticalWarning: num(nvme, 'critical_warning') ?? num(obj(status, 'nvme'), 'value'),
    exitStatus,
    exitBits,
    health: 'UNKNOWN',
    healthReasons: [],
    error: null,
  };
  const unreadable =
    exitBits.includes('COMMAND_LINE_ERROR') || exitBits.includes('DEVICE_OPEN_FAILED');
  if (unreadable || device === undefined) {
    report.error = errors.join('; ') || (unreadable ? `smartctl exit status ${exitStatus}` : null);
    if (report.error === null && device === undefined) report.error = 'no device in smartctl output';
  }
  const { health, reasons } = driveHealth(report);
  report.health = health;
  report.healthReasons = reasons;
  return report;
}

/** The rules are documented in index.ts; keep them in sync. */
export function driveHealth(r: Omit<SmartReport, 'health' | 'healthReasons'>): {
  health: DriveHealth;
  reasons: string[];
} {
  const critical: string[] = [];
  const warning: string[] = [];
  if (r.smartPassed === false) critical.push('SMART overall-health self-assessment failed');
  if (r.exitBits.includes('DISK_FAILING')) critical.push('smartctl: disk failing');
  if (r.exitBits.includes('PREFAIL_AT_THRESHOLD')) {
    critical.push('smartctl: prefail attribute at or below threshold');
  }
  if (r.criticalWarning !== null && r.criticalWarning !== 0) {
    critical.push(`NVMe critical warning 0x${r.criticalWarning.toString(16)}`);
  }
  const count = (label: string, v: number | null) => {
    if (v !== null && v > 0) warning.push(`${label}: ${v}`);
  };
  count('reallocated sectors', r.reallocatedSectors);
  count('pending sectors', r.pendingSectors);
  count('uncorrectable errors', r.uncorrectableErrors);
  count('media errors', r.mediaErrors);
  if (r.percentUsed !== null && r.percentUsed >= 90) warning.push(`endurance used: ${r.percentUsed}%`);
  if (r.exitBits.includes('PAST_AT_THRESHOLD')) warning.push('smartctl: attribute was at threshold in the past');
  if (r.exitBits.includes('ERROR_LOG_ENTRIES')) warning.push('smartctl: device error log has entries');
  if (r.exitBits.includes('SELF_TEST_ERRORS')) warning.push('smartctl: self-test log has errors');
  if (critical.length > 0) return { health: 'CRITICAL', reasons: [...critical, ...warning] };
  if (warning.length > 0) return { health: 'WARNING', reasons: warning };
  if (r.smartPassed === true) return { health: 'HEALTHY', reasons: [] };
  return { health: 'UNKNOWN', reasons: [r.error ?? 'no SMART overall-health status reported'] };
}

export interface SelfTest {
  /** "Short offline", "Extended offline", "Conveyance offline", "Short" (NVMe)… as smartctl names it. */
  kind: string;
  /** "Completed without error", "Completed: read failure", "Aborted by host"… */
  status: string;
  /** false for a failed test; null when smartctl does not say (an aborted or running one). */
  passed: boolean | null;
  /** Drive power-on hours when the test ran (the log's own clock). */
  lifetimeHours: number | null;
}

const tableOf = (o: JsonObject | undefined): unknown[] => (Array.isArray(o?.table) ? o.table : []);

/**
 * The SMART self-test log, newest first, from the JSON the drives collector already fetches
 * (`-x` includes it): ATA's extended log when present (a superset of the standard one), else
 * the standard log; NVMe's self-test log (smartctl 7.4+).
 */
export function selfTestLog(j: JsonObject): SelfTest[] {
  const ata = obj(j, 'ata_smart_self_test_log');
  const ataRows = tableOf(obj(ata, 'extended')).length > 0 ? tableOf(obj(ata, 'extended')) : tableOf(obj(ata, 'standard'));
  const out: SelfTest[] = [];
  for (const t of ataRows) {
    const status = obj(t, 'status');
    const passed = status?.passed;
    out.push({ kind: str(obj(t, 'type'), 'string') ?? 'unknown', status: str(status, 'string') ?? 'unknown', passed: typeof passed === 'boolean' ? passed : null, lifetimeHours: num(t, 'lifetime_hours') });
  }
  for (const t of tableOf(obj(j, 'nvme_self_test_log'))) {
    const result = obj(t, 'self_test_result');
    const code = num(result, 'value');
    // NVMe result codes: 0 completed without error, 1-2 aborted (not failures), 3+ failed or interrupted by a fault.
    out.push({ kind: str(obj(t, 'self_test_code'), 'string') ?? 'unknown', status: str(result, 'string') ?? 'unknown', passed: code === null || code === 1 || code === 2 ? null : code === 0, lifetimeHours: num(t, 'power_on_hours') });
  }
  return out;
}

export function parseSmartctl(text: string): { report: SmartReport; raw: JsonObject } {
  const j = parseJson(text, 'smartctl JSON output (smartctl -j)');
  if (!isObject(j) || !isObject(j.smartctl)) {
    throw new ParseError('expected smartctl JSON output with a "smartctl" object', 1);
  }
  return { report: smartReport(j), raw: j };
}

export interface ScannedDevice {
  name: string;
  type: string;
  /** smartctl --scan-open could not open it (commented-out line), with its reason. */
  openError: string | null;
}

// Host-provided strings that end up in rows; the shell loop that uses them quotes them.
export const DEVICE_NAME = /^\/dev\/[A-Za-z0-9/_.-]+$/;
export const DEVICE_TYPE = /^[a-z0-9,_+-]+$/;

/** `smartctl --scan-open` text (`/dev/sda -d sat # …`) or its `-j` JSON form. */
export function parseSmartctlScan(text: string): ScannedDevice[] {
  if (text.trimStart().startsWith('{')) {
    const j = parseJson(text, 'smartctl --scan -j JSON');
    const devices = isObject(j) ? j.devices : undefined;
    if (!isObject(j) || (devices !== undefined && !Array.isArray(devices))) {
      throw new ParseError('expected a "devices" array in smartctl scan JSON', 1);
    }
    const out: ScannedDevice[] = [];
    for (const d of devices ?? []) {
      const name = str(d, 'name');
      const type = str(d, 'type') ?? 'auto';
      if (name === null || !DEVICE_NAME.test(name) || !DEVICE_TYPE.test(type)) continue;
      out.push({ name, type, openError: str(d, 'open_error') });
    }
    return out;
  }
  const out: ScannedDevice[] = [];
  for (const line of lines(text)) {
    const failed = line.startsWith('# /dev/');
    const t = fields(failed ? line.slice(2) : line);
    const name = t[0];
    if (name === undefined || !DEVICE_NAME.test(name)) continue;
    const type = t[1] === '-d' && t[2] !== undefined && DEVICE_TYPE.test(t[2]) ? t[2] : 'auto';
    const why = failed ? /open failed: (.*)$/.exec(line)?.[1] ?? 'open failed' : null;
    out.push({ name, type, openError: why });
  }
  return out;
}

/** How a drive is named in rows: RAID member types (megaraid,N …) share one device path. */
export function driveKey(name: string, type: string | null): string {
  return type !== null && type.includes(',') ? `${name} -d ${type}` : name;
}
