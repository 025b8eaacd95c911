// Drives collector: one exec per poll scans with `smartctl --scan-open` and reads every drive
// with `smartctl --json=c -x` in a shell loop (compact JSON: about 40 % of the pretty-printed
// output is indentation, which every poll would carry over SSH, decode and keep until the flush). Device names come from the host's scan and reach
// smartctl only as quoted shell variables after a `case` allow-list: nothing is interpolated
// into the command text, which stays constant (one variant with `sudo -n`, one without).
import type { DriveHealthRow, JsonText } from '../storage/types.ts';
import { emptyBatch } from '../storage/types.ts';
import {
  ataRaw,
  DEVICE_NAME,
  DEVICE_TYPE,
  driveKey,
  parseSmartctl,
  parseSmartctlScan,
  selfTestLog,
  type SelfTest,
  type SmartReport,
} from './smartctl.ts';
import { firstLine, isObject, obj, ownString, splitSections, type JsonObject } from './text.ts';
import {
  CollectorError,
  ParseError,
  type CollectContext,
  type CollectResult,
  type Collector,
} from './types.ts';

function driveCommand(sudo: boolean): string {
  const s = sudo ? 'sudo -n smartctl' : 'smartctl';
  return [
    // sbin is often missing from a non-login SSH session's PATH.
    'PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"; export PATH; LC_ALL=C; export LC_ALL',
    'command -v smartctl >/dev/null 2>&1 || { echo @@ip:no-smartctl; exit 0; }',
    `scan=$(${s} --scan-open 2>&1); rc=$?`,
    'printf \'@@ip:scan %s\\n%s\\n\' "$rc" "$scan"',
    'printf \'%s\\n\' "$scan" | while read -r dev flag dtype rest; do',
    '  case $dev in /dev/*) ;; *) continue ;; esac',
    '  case $dev in *[!A-Za-z0-9/_.-]*) continue ;; esac',
    '  [ "$flag" = -d ] || dtype=auto',
    '  case $dtype in \'\'|*[!a-z0-9,_+-]*) continue ;; esac',
    '  printf \'@@ip:drive %s %s\\n\' "$dev" "$dtype"',
    `  ${s} --json=c -x -d "$dtype" "$dev" </dev/null 2>&1`,
    '  printf \'\\n@@ip:rc %s\\n\' "$?"',
    'done',
    'echo @@ip:end',
  ].join('\n');
}

export const DRIVES_COMMAND = driveCommand(false);
export const DRIVES_COMMAND_SUDO = driveCommand(true);

export interface DriveResult {
  drive: string;
  deviceType: string;
  report: SmartReport | null;
  /** smartctl's output as it printed it, when it parsed as smartctl JSON (its parsed tree is not kept). */
  json: string | null;
  /** Interface CRC errors (ATA attribute 199), read while the tree was at hand. */
  crcErrors: number | null;
  exitStatus: number | null;
  error: string | null;
}

export interface DrivesOutput {
  smartctlMissing: boolean;
  scanExitCode: number | null;
  scanText: string;
  drives: DriveResult[];
}

/** What sudo -n says when it will not run the command without a password. */
export const SUDO_DENIED = /a password is required|a terminal is required|not in the sudoers|may not run sudo|not allowed to execute/i;

/** Parses the whole output of DRIVES_COMMAND(_SUDO). Pure; one bad drive never fails the rest. */
export function parseDrivesOutput(output: string): DrivesOutput {
  const sections = splitSections(output);
  const out: DrivesOutput = { smartctlMissing: false, scanExitCode: null, scanText: '', drives: [] };
  const opened = new Set<string>();
  for (let i = 0; i < sections.length; i++) {
    const s = sections[i]!;
    if (s.name === 'no-smartctl') out.smartctlMissing = true;
    else if (s.name === 'scan') {
      const rc = Number(s.args);
      out.scanExitCode = Number.isInteger(rc) ? rc : null;
      out.scanText = s.body;
    } else if (s.name === 'drive') {
      const [name = '', type = 'auto'] = s.args.split(' ');
      if (!DEVICE_NAME.test(name) || !DEVICE_TYPE.test(type)) continue;
      const next = sections[i + 1];
      const rc = next?.name === 'rc' ? Number(next.args) : Number.NaN;
      const result: DriveResult = {
        drive: driveKey(name, type),
        deviceType: type,
        report: null,
        json: null,
        crcErrors: null,
        exitStatus: Number.isInteger(rc) ? rc : null,
        error: null,
      };
      opened.add(result.drive);
      const body = s.body.trim();
      if (body.startsWith('{')) {
        try {
          // The parsed tree is read once, here, and dropped: it dies young (issue 16).
          const { report, raw } = parseSmartctl(body);
          result.report = report;
          result.json = body;
          result.crcErrors = crcErrorsOf(raw);
          result.error = report.error;
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          result.error = `unreadable smartctl output (line ${err.line}: ${err.message})`;
        }
      } else {
        // sudo or the shell spoke instead of smartctl.
        result.error = firstLine(body) || `smartctl printed nothing (exit ${result.exitStatus ?? '?'})`;
      }
      out.drives.push(result);
    }
  }
  // Devices the scan could not open never reach the loop; give each a row saying why.
  for (const d of parseSmartctlScan(out.scanText)) {
    const key = driveKey(d.name, d.type);
    if (d.openError === null || opened.has(key)) continue;
    out.drives.push({
      drive: key,
      deviceType: d.type,
      report: null,
      json: null,
      crcErrors: null,
      exitStatus: null,
      error: `open failed: ${d.openError}`,
    });
  }
  return out;
}

export function driveRow(d: DriveResult, deviceId: string, time: Date): DriveHealthRow {
  const r = d.report;
  const row: DriveHealthRow = {
    time,
    deviceId,
    drive: d.drive,
    protocol: r?.protocol ?? null,
    model: r?.model ?? null,
    serial: r?.serial ?? null,
    firmware: r?.firmware ?? null,
    capacityBytes: r?.capacityBytes ?? null,
    temperatureC: r?.temperatureC ?? null,
    powerOnHours: r?.powerOnHours ?? null,
    reallocatedSectors: r?.reallocatedSectors ?? null,
    pendingSectors: r?.pendingSectors ?? null,
    uncorrectableErrors: r?.uncorrectableErrors ?? null,
    mediaErrors: r?.mediaErrors ?? null,
    percentUsed: r?.percentUsed ?? null,
    smartPassed: r?.smartPassed ?? null,
    health: r?.health ?? 'UNKNOWN',
    exitStatus: r?.exitStatus ?? d.exitStatus,
    error: d.error,
    attributes: r === null || d.json === null ? null : attributesText(d.json, r),
  };
  collectedCrcErrors.set(row, d.crcErrors);
  return row;
}

/**
 * The row's attributes as JSON text, smartctl's output embedded as it printed it: it parsed as
 * JSON (parseSmartctl), so the whole is JSON, and the jsonb column stores smartctl's own numbers.
 * A string of its own: `smartctl` is a view into the poll's whole output, which must not wait
 * for the flush with it.
 */
function attributesText(smartctl: string, r: SmartReport): JsonText {
  return ownString(`{"smartctl":${smartctl},"exitBits":${JSON.stringify(r.exitBits)},"healthReasons":${JSON.stringify(r.healthReasons)}}`) as JsonText;
}

/**
 * CRC errors of the rows collected by this process: the alert evaluator takes every new row's
 * counters (the builtin DRIVE_COUNTER_INCREASE rule), which would otherwise parse its text again.
 */
const collectedCrcErrors = new WeakMap<object, number | null>();

/** Live rows' attributes parsed, per row object: the fields of one Drive (or one alert pass) parse the text once. */
const parsedAttributes = new WeakMap<object, JsonObject | null>();

/**
 * A drive row's attributes as an object, whichever shape the row carries: the object pg parsed
 * from jsonb (a stored row), or the collector's JSON text (a live row: parsed here on first use).
 * The one way to read them.
 */
export function driveAttributes(row: Pick<DriveHealthRow, 'attributes'>): JsonObject | null {
  const a = row.attributes;
  if (typeof a !== 'string') return isObject(a) ? a : null;
  let parsed = parsedAttributes.get(row);
  if (parsed === undefined) {
    const v: unknown = JSON.parse(a);
    parsed = isObject(v) ? v : null;
    parsedAttributes.set(row, parsed);
  }
  return parsed;
}

/** The attributes as JSON text: a live row's text as it is, a stored row's object serialised. */
export function driveAttributesJson(row: Pick<DriveHealthRow, 'attributes'>): string | null {
  const a = row.attributes;
  return typeof a === 'string' ? a : a === null || a === undefined ? null : JSON.stringify(a);
}

/** Why the collector judged the drive as it did (stored beside smartctl's output), null when not there. */
export function driveHealthReasons(row: Pick<DriveHealthRow, 'attributes'>): string[] | null {
  const reasons = driveAttributes(row)?.healthReasons;
  return Array.isArray(reasons) ? reasons.filter((x): x is string => typeof x === 'string') : null;
}

export type DrivesState = Record<string, never>;

export const drivesCollector: Collector<DrivesState> = {
  name: 'drives',
  description: 'SMART drive health through smartctl (smartmontools).',
  async collect(ctx: CollectContext<DrivesState>): Promise<CollectResult<DrivesState>> {
    const sudo = ctx.options.sudoSmartctl;
    const res = await ctx.runner.exec(sudo ? DRIVES_COMMAND_SUDO : DRIVES_COMMAND, {
      timeoutMs: ctx.timeoutMs,
    });
    const parsed = parseDrivesOutput(res.stdout);
    if (parsed.smartctlMissing) {
      throw new CollectorError('NOT_INSTALLED', 'smartctl not found (install smartmontools)');
    }
    if (parsed.scanExitCode === null) {
      throw new CollectorError(
        'COMMAND_FAILED',
        `drive scan did not run: ${firstLine(res.stderr) || `exit ${res.code ?? 'signal'}`}`,
      );
    }
    if (sudo && SUDO_DENIED.test(parsed.scanText)) {
      throw new CollectorError(
        'PERMISSION_DENIED',
        `sudo -n smartctl refused: ${firstLine(parsed.scanText)} (allow it in sudoers with NOPASSWD)`,
      );
    }
    const drives = parsed.drives;
    if (drives.length > 0 && drives.every((d) => /permission denied|operation not permitted/i.test(d.error ?? ''))) {
      throw new CollectorError(
        'PERMISSION_DENIED',
        `smartctl cannot open any drive: ${drives[0]!.error} (run as root or enable sudoSmartctl)`,
      );
    }
    if (drives.length === 0 && parsed.scanExitCode === 0) {
      // A VM, a container, or disks behind a controller smartctl cannot see: nothing to watch here.
      throw new CollectorError('NO_DEVICES', 'smartctl found no drives to read');
    }
    const batch = emptyBatch();
    const problems: string[] = [];
    for (const d of drives) {
      batch.drives.push(driveRow(d, ctx.deviceId, ctx.time));
      if (d.error !== null) problems.push(`${d.drive}: ${d.error}`);
    }
    if (parsed.scanExitCode !== 0 && drives.length === 0) {
      problems.push(`smartctl --scan-open exited ${parsed.scanExitCode}: ${firstLine(parsed.scanText)}`);
    }
    if (!res.stdout.includes('@@ip:end')) problems.push('drive output was cut short');
    return { batch, state: {}, problems };
  },
};

/**
 * A drive's error counters: the ones whose rise means a failing drive, and which an operator
 * can acknowledge (DriveBaseline) so that alerts fire on a rise rather than on a non-zero
 * count a drive has carried for years. CRC errors (ATA 199) count cable and backplane
 * trouble; they are read from the stored smartctl output.
 */
export const DRIVE_COUNTERS = ['reallocatedSectors', 'pendingSectors', 'uncorrectableErrors', 'mediaErrors', 'crcErrors'] as const;
export type DriveCounters = Record<(typeof DRIVE_COUNTERS)[number], number | null>;

/** smartctl's own JSON as driveRow stored it in `attributes`, if it is there. */
function storedSmartctl(row: Pick<DriveHealthRow, 'attributes'>): JsonObject | undefined {
  return obj(driveAttributes(row), 'smartctl');
}

function crcErrorsOf(smartctl: JsonObject | undefined): number | null {
  const table = obj(smartctl, 'ata_smart_attributes')?.table;
  return Array.isArray(table) ? ataRaw(table, 199) : null;
}

export function driveCounters(row: Pick<DriveHealthRow, 'reallocatedSectors' | 'pendingSectors' | 'uncorrectableErrors' | 'mediaErrors' | 'attributes'>): DriveCounters {
  const collected = collectedCrcErrors.get(row);
  return {
    reallocatedSectors: row.reallocatedSectors,
    pendingSectors: row.pendingSectors,
    uncorrectableErrors: row.uncorrectableErrors,
    mediaErrors: row.mediaErrors,
    crcErrors: collected !== undefined ? collected : crcErrorsOf(storedSmartctl(row)),
  };
}

/** How far the counters rose above an acknowledged baseline (none: above zero), summed; never negative per counter. */
export function counterIncrease(now: DriveCounters, baseline: Partial<DriveCounters> | undefined): number {
  let rise = 0;
  for (const k of DRIVE_COUNTERS) rise += Math.max(0, (now[k] ?? 0) - (baseline?.[k] ?? 0));
  return rise;
}

/** The stored reading's SMART self-test log, newest first (empty when smartctl gave none). */
export function driveSelfTests(row: Pick<DriveHealthRow, 'attributes'>): SelfTest[] {
  const smartctl = storedSmartctl(row);
  return smartctl ? selfTestLog(smartctl) : [];
}
