// smartctl for a simulated host: `--scan-open` text and `-j -x` JSON per drive (compact for
// `--json=c`, as the drives collector asks: one line, no indentation), shaped like
// smartctl 7.3's (the keys the collectors read, plus the surrounding ones real output carries).
// Degrading drives gain reallocated/pending sectors (NVMe: media errors) as the simulator runs;
// the failing drive fails its overall-health self-assessment.
import type { DriveProfile, HostProfile } from './profile.ts';
import { hostClock } from './render-system.ts';

/** Wear and defect growth is measured from here (the simulator's start). */
export interface DriveClock {
  nowMs: number;
  startMs: number;
}

const POWER_ON_ANCHOR_MS = Date.UTC(2025, 0, 1);

export function renderScan(h: HostProfile): string {
  return (
    h.drives
      .map((d) =>
        d.deviceType === 'nvme'
          ? `${d.device} -d nvme # ${d.device}, NVMe device`
          : `${d.device} -d sat # ${d.device} [SAT], ATA device`,
      )
      .join('\n') + '\n'
  );
}

export function driveDefects(d: DriveProfile, clock: DriveClock): number {
  const minutes = Math.max(0, (clock.nowMs - clock.startMs) / 60_000);
  return d.defects0 + Math.floor(d.defectsPerSqrtMinute * Math.sqrt(minutes));
}

function attr(
  id: number,
  name: string,
  value: number,
  worst: number,
  thresh: number,
  flags: [number, string, boolean],
  raw: number,
  rawString = String(raw),
  whenFailed = '',
): Record<string, unknown> {
  const [fv, fs, prefail] = flags;
  return {
    id,
    name,
    value,
    worst,
    thresh,
    when_failed: whenFailed,
    flags: {
      value: fv,
      string: fs,
      prefailure: prefail,
      updated_online: (fv & 2) !== 0,
      performance: (fv & 4) !== 0,
      error_rate: (fv & 8) !== 0,
      event_count: (fv & 16) !== 0,
      auto_keep: (fv & 32) !== 0,
    },
    raw: { value: raw, string: rawString },
  };
}

const PO_CK: [number, string, boolean] = [51, 'PO--CK ', true];
const O_CK: [number, string, boolean] = [50, '-O--CK ', false];
const O_C: [number, string, boolean] = [48, '----CK ', false];

function common(h: HostProfile, d: DriveProfile, exitStatus: number, nowMs: number, jsonArg: string): Record<string, unknown> {
  const t = Math.floor(nowMs / 1000);
  return {
    json_format_version: [1, 0],
    smartctl: {
      version: [7, 3],
      svn_revision: '5338',
      platform_info: `x86_64-linux-${h.kernel}`,
      build_info: '(local build)',
      argv: ['smartctl', jsonArg, '-x', '-d', d.deviceType, d.device],
      exit_status: exitStatus,
    },
    local_time: { time_t: t, asctime: new Date(t * 1000).toUTCString().replace('GMT', 'UTC') },
    device: {
      name: d.device,
      info_name: d.deviceType === 'nvme' ? d.device : `${d.device} [SAT]`,
      type: d.deviceType,
      protocol: d.deviceType === 'nvme' ? 'NVMe' : 'ATA',
    },
  };
}

function temperature(d: DriveProfile, h: HostProfile, nowMs: number): number {
  const c = hostClock(h, nowMs);
  // Warmer under load, a few degrees of daily swing.
  return Math.round(d.temperatureC + 3 * Math.sin(c.nowS / 3600 + d.readBytes.p1) + d.util * 8);
}

function ataReport(h: HostProfile, d: DriveProfile, clock: DriveClock, jsonArg: string): { json: Record<string, unknown>; exit: number } {
  const failing = d.fate === 'failing';
  const defects = driveDefects(d, clock);
  const pending = d.fate === 'healthy' ? 0 : Math.floor(defects / 4) + (failing ? 24 : 1);
  const uncorrectable = failing ? Math.floor(pending / 2) : 0;
  // smartctl exit bits: 3 disk failing, 4 prefail attribute at threshold now, 6 error log has entries.
  const exit = failing ? 8 | 16 | 64 : d.fate === 'degrading' ? 64 : 0;
  const hours = d.powerOnHours0 + Math.max(0, Math.floor((clock.nowMs - POWER_ON_ANCHOR_MS) / 3_600_000));
  const temp = temperature(d, h, clock.nowMs);
  const reallocValue = failing ? 3 : Math.max(11, 100 - Math.floor(defects / 20));
  const ssd = d.kind === 'ssd';
  const table = [
    attr(1, 'Raw_Read_Error_Rate', ssd ? 100 : 200, ssd ? 100 : 200, ssd ? 0 : 51, ssd ? O_CK : [47, 'POSR-K ', true], 0),
    ...(ssd ? [] : [attr(3, 'Spin_Up_Time', 178, 175, 21, [39, 'POS--K ', true], 6058), attr(4, 'Start_Stop_Count', 100, 100, 0, O_CK, d.powerCycles + 12)]),
    attr(5, 'Reallocated_Sector_Ct', reallocValue, reallocValue, 10, PO_CK, defects, String(defects), failing ? 'FAILING_NOW' : ''),
    ...(ssd ? [] : [attr(7, 'Seek_Error_Rate', 200, 200, 0, [46, '-OSR-K ', false], 0)]),
    attr(9, 'Power_On_Hours', Math.max(1, 100 - Math.floor(hours / 876)), Math.max(1, 100 - Math.floor(hours / 876)), 0, O_CK, hours),
    ...(ssd ? [] : [attr(10, 'Spin_Retry_Count', 100, 100, 0, [50, '-O--CK ', false], 0)]),
    attr(12, 'Power_Cycle_Count', 100, 100, 0, O_CK, d.powerCycles),
    ...(ssd
      ? [attr(177, 'Wear_Leveling_Count', 100 - d.percentUsed, 100 - d.percentUsed, 0, [19, 'PO--C- ', true], d.percentUsed * 30)]
      : [attr(192, 'Power-Off_Retract_Count', 200, 200, 0, O_CK, Math.floor(d.powerCycles / 2))]),
    attr(194, 'Temperature_Celsius', 100 - temp, 100 - 20, 0, [34, '-O---K ', false], temp + 18 * 65536 + 52 * 4294967296, `${temp} (Min/Max 18/52)`),
    attr(196, 'Reallocated_Event_Count', 200, 200, 0, O_C, Math.floor(defects / 3)),
    attr(197, 'Current_Pending_Sector', 200, 200, 0, [50, '-O--CK ', false], pending),
    attr(198, 'Offline_Uncorrectable', 100, 100, 0, O_C, uncorrectable),
    attr(199, 'UDMA_CRC_Error_Count', 200, 200, 0, [62, '-OSRCK ', false], 0),
    ...(ssd ? [] : [attr(200, 'Multi_Zone_Error_Rate', 200, 200, 0, [8, '---R-- ', false], 0)]),
  ];
  const json = {
    ...common(h, d, exit, clock.nowMs, jsonArg),
    ...(d.family === null ? {} : { model_family: d.family }),
    model_name: d.model,
    serial_number: d.serial,
    wwn: { naa: 5, oui: 3152, id: Number.parseInt(d.wwn.slice(-8), 16) },
    firmware_version: d.firmware,
    user_capacity: { blocks: Math.floor(d.capacityBytes / 512), bytes: d.capacityBytes },
    logical_block_size: 512,
    physical_block_size: ssd ? 512 : 4096,
    rotation_rate: d.rotationRate,
    form_factor: { ata_value: ssd ? 3 : 2, name: ssd ? '2.5 inches' : '3.5 inches' },
    trim: { supported: ssd, deterministic: ssd, zeroed: false },
    in_smartctl_database: d.family !== null,
    ata_version: { string: 'ACS-3 T13/2161-D revision 5', major_value: 2040, minor_value: 109 },
    sata_version: { string: 'SATA 3.1', value: 127 },
    interface_speed: {
      max: { sata_value: 14, string: '6.0 Gb/s', units_per_second: 60, bits_per_unit: 100000000 },
      current: { sata_value: 3, string: '6.0 Gb/s', units_per_second: 60, bits_per_unit: 100000000 },
    },
    smart_support: { available: true, enabled: true },
    smart_status: { passed: !failing },
    ata_smart_data: {
      offline_data_collection: { status: { value: 130, string: 'was completed without error', passed: true }, completion_seconds: 600 },
      self_test: {
        status: failing
          ? { value: 121, string: 'completed: read failure', remaining_percent: 10, passed: false }
          : { value: 0, string: 'completed without error', passed: true },
        polling_minutes: { short: 2, extended: ssd ? 85 : 620 },
      },
    },
    ata_smart_attributes: { revision: 16, table },
    power_on_time: { hours },
    power_cycle_count: d.powerCycles,
    temperature: { current: temp, power_cycle_min: 18, power_cycle_max: 52, lifetime_min: 12, lifetime_max: 57 },
    ata_smart_error_log: { extended: { revision: 1, sectors: 2, count: exit & 64 ? Math.max(1, Math.floor(defects / 8)) : 0 } },
    ata_smart_self_test_log: {
      extended: {
        revision: 1,
        sectors: 1,
        count: 1,
        table: [
          {
            type: { value: 1, string: 'Short offline' },
            status: failing
              ? { value: 121, string: 'Completed: read failure', remaining_percent: 10, passed: false }
              : { value: 0, string: 'Completed without error', passed: true },
            lifetime_hours: Math.max(0, hours - 20),
          },
        ],
      },
    },
    ...(ssd
      ? {
          ata_device_statistics: {
            pages: [
              {
                number: 7,
                name: 'Solid State Device Statistics',
                revision: 1,
                table: [{ offset: 8, name: 'Percentage Used Endurance Indicator', size: 1, value: d.percentUsed, flags: { value: 192, string: 'V--- ', valid: true, normalized: false } }],
              },
            ],
          },
        }
      : {}),
  };
  return { json, exit };
}

function nvmeReport(h: HostProfile, d: DriveProfile, clock: DriveClock, jsonArg: string): { json: Record<string, unknown>; exit: number } {
  const failing = d.fate === 'failing';
  const mediaErrors = d.fate === 'healthy' ? 0 : driveDefects(d, clock);
  const hours = d.powerOnHours0 + Math.max(0, Math.floor((clock.nowMs - POWER_ON_ANCHOR_MS) / 3_600_000));
  const temp = temperature(d, h, clock.nowMs);
  const c = hostClock(h, clock.nowMs);
  // Data units are 1000 × 512 bytes; lifetime writes dwarf one boot's.
  const unitsRead = Math.floor((hours * 3600 * d.readBytes.mean + d.readBytes.integral(c.uptimeS)) / 512_000);
  const unitsWritten = Math.floor((hours * 3600 * d.writeBytes.mean + d.writeBytes.integral(c.uptimeS)) / 512_000);
  // Critical warning bit 2: NVM subsystem reliability degraded. smartctl then reports the
  // overall health as failed and sets exit bit 3.
  const criticalWarning = failing ? 0x04 : 0;
  const exit = failing ? 8 : mediaErrors > 0 ? 64 : 0;
  const log = {
    critical_warning: criticalWarning,
    temperature: temp,
    available_spare: failing ? 3 : 100,
    available_spare_threshold: 10,
    percentage_used: d.percentUsed,
    data_units_read: unitsRead,
    data_units_written: unitsWritten,
    host_reads: Math.floor((unitsRead * 512_000) / d.readSize),
    host_writes: Math.floor((unitsWritten * 512_000) / d.writeSize),
    controller_busy_time: Math.floor(hours * d.util * 60),
    power_cycles: d.powerCycles,
    power_on_hours: hours,
    unsafe_shutdowns: Math.floor(d.powerCycles / 9),
    media_errors: mediaErrors,
    num_err_log_entries: mediaErrors * 3,
    warning_temp_time: 0,
    critical_comp_time: 0,
    temperature_sensors: [temp, temp + 6],
  };
  const json = {
    ...common(h, d, exit, clock.nowMs, jsonArg),
    model_name: d.model,
    serial_number: d.serial,
    firmware_version: d.firmware,
    nvme_pci_vendor: { id: 5197, subsystem_id: 5197 },
    nvme_ieee_oui_identifier: 9528,
    nvme_total_capacity: d.capacityBytes,
    nvme_unallocated_capacity: 0,
    nvme_controller_id: 4,
    nvme_version: { string: '1.4', value: 66560 },
    nvme_number_of_namespaces: 1,
    nvme_namespaces: [
      {
        id: 1,
        size: { blocks: Math.floor(d.capacityBytes / 512), bytes: d.capacityBytes },
        capacity: { blocks: Math.floor(d.capacityBytes / 512), bytes: d.capacityBytes },
        utilization: { blocks: Math.floor(d.capacityBytes / 1024), bytes: Math.floor(d.capacityBytes / 2) },
        formatted_lba_size: 512,
        eui64: { oui: 9528, ext_id: Number.parseInt(d.wwn.slice(-8), 16) },
      },
    ],
    user_capacity: { blocks: Math.floor(d.capacityBytes / 512), bytes: d.capacityBytes },
    logical_block_size: 512,
    smart_support: { available: true, enabled: true },
    smart_status: { passed: !failing, nvme: { value: criticalWarning } },
    nvme_smart_health_information_log: log,
    temperature: { current: temp },
    power_cycle_count: d.powerCycles,
    power_on_time: { hours },
    nvme_error_information_log: { size: 64, read: 16, unread: 0 },
    nvme_self_test_log: { current_self_test_operation: { value: 0, string: 'No self-test in progress' } },
  };
  return { json, exit };
}

/** One drive's report: pretty-printed as `smartctl -j` prints it, or on one line for `--json=c`. */
export function renderDriveReport(h: HostProfile, d: DriveProfile, clock: DriveClock, compact = false): { text: string; exit: number } {
  const jsonArg = compact ? '--json=c' : '-j';
  const { json, exit } = d.deviceType === 'nvme' ? nvmeReport(h, d, clock, jsonArg) : ataReport(h, d, clock, jsonArg);
  return { text: (compact ? JSON.stringify(json) : JSON.stringify(json, null, 2)) + '\n', exit };
}

/** The whole answer to the drives collector's command (with or without sudo -n). */
export function renderDrives(h: HostProfile, clock: DriveClock): string {
  const scan = renderScan(h);
  let out = `@@ip:scan 0\n${scan}`;
  for (const d of h.drives) {
    const r = renderDriveReport(h, d, clock, true);
    out += `@@ip:drive ${d.device} ${d.deviceType}\n${r.text}\n@@ip:rc ${r.exit}\n`;
  }
  return out + '@@ip:end\n';
}
