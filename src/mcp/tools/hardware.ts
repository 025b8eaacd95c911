/** Pools, md arrays, hwmon sensors and GPUs as get_device and fleet_summary tell them: trouble first. */
import { num, pct, section } from '../format.ts';

export interface PoolView {
  kind: string;
  name: string;
  level: string | null;
  state: string;
  health: string;
  totalDevices: number | null;
  activeDevices: number | null;
  scanKind: string | null;
  scanInProgress: boolean;
  scanPercent: number | null;
}

export interface SensorView {
  chip: string | null;
  label: string;
  kind: string;
  value: number | null;
  min: number | null;
  status: string;
}

export interface GpuView {
  index: number | null;
  name: string | null;
  temperatureC: number | null;
  utilizationPercent: number | null;
  powerDrawWatts: number | null;
  powerLimitWatts: number | null;
}

export interface Hardware {
  pools: PoolView[];
  raidArrays: PoolView[];
  sensors: SensorView[];
  gpus: GpuView[];
}

const POOL_FIELDS = 'kind name level state health totalDevices activeDevices scanKind scanInProgress scanPercent';
/** The Device selection behind `Hardware`. */
export const HARDWARE_FIELDS = `pools { ${POOL_FIELDS} } raidArrays { ${POOL_FIELDS} } sensors { chip label kind value min status } gpus { index name temperatureC utilizationPercent powerDrawWatts powerLimitWatts }`;

/** A pool or array that is not HEALTHY (degraded, faulted, or with read/write/checksum errors). */
export const poolTrouble = (p: PoolView): boolean => p.health !== 'HEALTHY';
/** A stopped or slow fan, a temperature at its chip's high or critical mark. */
export const sensorTrouble = (s: SensorView): boolean => s.status !== 'OK' && s.status !== 'UNKNOWN';

export function poolLine(p: PoolView): string {
  const devices = p.totalDevices === null ? '' : `, ${p.activeDevices ?? '?'} of ${p.totalDevices} devices in service`;
  const scan = p.scanKind && p.scanInProgress ? `, ${p.scanKind} ${p.scanPercent === null ? 'running' : pct(p.scanPercent)}` : '';
  return `${p.name} ${p.level ?? p.kind} ${p.state} (${p.health})${devices}${scan}`;
}

export function sensorLine(s: SensorView): string {
  const value = s.value === null ? '?' : s.kind === 'FAN' ? `${num(s.value, 0)} RPM` : `${num(s.value, 1)} °C`;
  // The collector calls any fan at 0 RPM STOPPED; without a minimum it may be a header with nothing plugged in.
  const hint = s.status === 'STOPPED' && !(s.min !== null && s.min > 0) ? '; no minimum set: maybe no fan on this header' : '';
  return `${s.chip ?? '?'}/${s.label} ${s.status} at ${value}${hint}`;
}

export function gpuLine(g: GpuView): string {
  const power = g.powerDrawWatts === null ? '' : `, ${num(g.powerDrawWatts, 0)} W${g.powerLimitWatts === null ? '' : ` of ${num(g.powerLimitWatts, 0)} W`}`;
  return `${g.index ?? '?'} ${g.name ?? 'GPU'} ${g.temperatureC === null ? '? °C' : `${num(g.temperatureC, 0)} °C`}, ${pct(g.utilizationPercent)} busy${power}`;
}

export const hottestFirst = <G extends GpuView>(gpus: readonly G[]): G[] => [...gpus].sort((a, b) => (b.temperatureC ?? -Infinity) - (a.temperatureC ?? -Infinity));

/** get_device's hardware paragraphs, titled like its other sections. */
export function hardwareSections(h: Hardware): string[] {
  const storage = [...h.pools, ...h.raidArrays].sort((a, b) => Number(poolTrouble(b)) - Number(poolTrouble(a)));
  const trouble = h.sensors.filter(sensorTrouble);
  const hottest = h.sensors.filter((s) => s.kind === 'TEMPERATURE' && s.value !== null).sort((a, b) => b.value! - a.value!)[0];
  return [
    ...section(`pools and RAID arrays (${storage.length}, not HEALTHY first)`, storage, 15, poolLine),
    ...section(`sensors (${h.sensors.length}${hottest ? `, hottest ${sensorLine(hottest)}` : ''}; stopped fans and hot readings only)`, trouble, 15, sensorLine),
    ...section(`GPUs (${h.gpus.length}, hottest first)`, hottestFirst(h.gpus), 8, gpuLine),
  ];
}
