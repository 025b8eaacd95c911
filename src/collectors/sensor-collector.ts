// Sensors collector: every hwmon chip's temperatures and fans in one exec (HWMON_COMMAND, parsed
// by sensors.ts), one row per sensor with its status against the chip's own thresholds.
import type { SensorReadingRow, SensorStatus } from '../storage/types.ts';
import { emptyBatch } from '../storage/types.ts';
import { HWMON_COMMAND, parseHwmonDump, type Fan, type HwmonChip, type Temperature } from './sensors.ts';
import { CollectorError, ParseError, type CollectContext, type Collector, type CollectResult } from './types.ts';

/** HIGH at tempN_max, CRITICAL at tempN_crit (thresholds the chip reports, none invented). */
export function temperatureStatus(t: Pick<Temperature, 'celsius' | 'maxCelsius' | 'critCelsius'>): SensorStatus {
  if (t.celsius === null) return 'UNKNOWN';
  if (t.critCelsius !== null && t.celsius >= t.critCelsius) return 'CRITICAL';
  if (t.maxCelsius !== null && t.celsius >= t.maxCelsius) return 'HIGH';
  return 'OK';
}

/** STOPPED at 0 RPM (a dead fan, or a header with none plugged in), LOW below fanN_min. */
export function fanStatus(f: Pick<Fan, 'rpm' | 'minRpm'>): SensorStatus {
  if (f.rpm === null) return 'UNKNOWN';
  if (f.rpm === 0) return 'STOPPED';
  if (f.minRpm !== null && f.minRpm > 0 && f.rpm < f.minRpm) return 'LOW';
  return 'OK';
}

export function sensorRows(chips: HwmonChip[], deviceId: string, time: Date): SensorReadingRow[] {
  const rows: SensorReadingRow[] = [];
  for (const c of chips) {
    for (const t of c.temperatures) {
      rows.push({ time, deviceId, sensor: `${c.id}/${t.sensor}`, chip: c.name, kind: 'TEMPERATURE', label: t.label, value: t.celsius, min: null, max: t.maxCelsius, crit: t.critCelsius, status: temperatureStatus(t) });
    }
    for (const f of c.fans) {
      rows.push({ time, deviceId, sensor: `${c.id}/${f.sensor}`, chip: c.name, kind: 'FAN', label: f.label, value: f.rpm, min: f.minRpm, max: null, crit: null, status: fanStatus(f) });
    }
  }
  return rows;
}

export type SensorsState = Record<string, never>;

export const sensorsCollector: Collector<SensorsState> = {
  name: 'sensors',
  description: 'Temperatures and fans of the kernel\'s hwmon chips (/sys/class/hwmon).',
  async collect(ctx: CollectContext<SensorsState>): Promise<CollectResult<SensorsState>> {
    const res = await ctx.runner.exec(HWMON_COMMAND, { timeoutMs: ctx.timeoutMs });
    if (res.stdout.includes('@@ip:no-hwmon')) throw new CollectorError('NOT_INSTALLED', 'no /sys/class/hwmon on this host');
    let parsed: ReturnType<typeof parseHwmonDump>;
    try {
      parsed = parseHwmonDump(res.stdout);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      throw new CollectorError('BAD_OUTPUT', `unreadable hwmon output (line ${err.line}: ${err.message})`);
    }
    const batch = emptyBatch();
    batch.sensors = sensorRows(parsed.chips, ctx.deviceId, ctx.time);
    // A VM or container: the class exists but no chip reports a temperature or a fan.
    if (batch.sensors.length === 0) throw new CollectorError('NO_DEVICES', 'no hwmon temperature or fan sensors');
    return { batch, state: {}, problems: [], skipped: parsed.skipped };
  },
};
