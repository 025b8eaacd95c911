/**
 * Collectors per device: the CollectorName enum (from the registry in src/collectors), each
 * collector's state on a device (Device.collectors, added in devices.ts) and the settings
 * createDevice/updateDevice take to switch one off or give it its own interval.
 */
import { collectors as registry, COLLECTOR_NAMES } from '../../collectors/index.ts';
import type { CollectorName } from '../../collectors/types.ts';
import { POLLING_INTERVAL_BOUNDS } from '../../config.ts';
import type { Device as DeviceRow } from '../../db/generated/client.ts';
import { INTERVAL_COLUMN, readStates, viewOf, type CollectorView } from '../../poller/collector-state.ts';

export { INTERVAL_COLUMN };
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import type { Issues } from './validation.ts';

export const CollectorNameEnum = builder.enumType('CollectorName', {
  description: 'A collector family (src/collectors).',
  values: Object.fromEntries(COLLECTOR_NAMES.map((name) => [name.toUpperCase(), { value: name, description: registry[name].description }])) as Record<
    string,
    { value: CollectorName; description: string }
  >,
});

export const CollectorStatusEnum = builder.enumType('CollectorStatus', {
  values: {
    OK: { description: 'Its latest run was clean.' },
    FAILING: { description: 'It worked, or should work, and its latest run failed or reported problems: the device is DEGRADED.' },
    UNAVAILABLE: { description: 'Not available on this host (tool missing, daemon not running, permission denied, nothing to read); tried again hourly and by pollDevice. Not a fault.' },
    DISABLED: { description: 'Switched off for this device (or monitoring is off): never run.' },
  } as const,
});


interface CollectorStateView extends CollectorView {
  intervalSeconds: number;
  intervalOverride: number | null;
}

export const CollectorStateRef = builder.objectRef<CollectorStateView>('CollectorState').implement({
  description: 'One collector on one device: whether it runs, what its latest run said, how often it runs.',
  fields: (t) => ({
    name: t.field({ type: CollectorNameEnum, resolve: (c) => c.name }),
    state: t.field({ type: CollectorStatusEnum, nullable: true, description: 'Null while it has not run on this device yet.', resolve: (c) => c.state }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it is FAILING, UNAVAILABLE or DISABLED; null when OK.' }),
    lastRunAt: t.field({ type: 'DateTime', nullable: true, description: 'When it last ran on this device.', resolve: (c) => c.lastRunAt }),
    since: t.field({ type: 'DateTime', nullable: true, description: 'When it entered its current state.', resolve: (c) => c.since }),
    enabled: t.exposeBoolean('enabled', { description: 'False: switched off for this device.' }),
    intervalSeconds: t.exposeInt('intervalSeconds', { description: 'Seconds between its runs: the device\'s own interval, else the server\'s (an UNAVAILABLE one runs hourly at most).' }),
    intervalOverride: t.exposeInt('intervalOverride', { nullable: true, description: 'The device\'s own interval; null uses the server\'s.' }),
  }),
});

/** This instance's poller knows the freshest state; a device polled elsewhere (or no poller) reads the stored one. */
export function collectorsOf(device: DeviceRow, ctx: Context): CollectorStateView[] {
  const live = ctx.poller?.collectorStates?.(device.id);
  const stored = readStates(device.collectorStates);
  const settings = { disabled: device.disabledCollectors, monitoringEnabled: device.monitoringEnabled };
  return COLLECTOR_NAMES.map((name) => {
    const view = live?.find((v) => v.name === name) ?? viewOf(name, stored.get(name), settings);
    const intervalOverride = device[INTERVAL_COLUMN[name]];
    return { ...view, intervalOverride, intervalSeconds: intervalOverride ?? ctx.config.polling.intervals[name] };
  });
}

export const CollectorSettingInput = builder.inputType('CollectorSettingInput', {
  description: 'One collector\'s settings on a device; fields left out stay as they are.',
  fields: (t) => ({
    name: t.field({ type: CollectorNameEnum, required: true }),
    enabled: t.boolean({ required: false, description: 'False switches it off for this device; true switches it on again and forgets what it said before.' }),
    intervalSeconds: t.int({ required: false, description: 'Seconds between runs, within the bounds of its POLLING_*_INTERVAL; null: the server\'s.' }),
  }),
});

export interface CollectorSettingArg {
  name: CollectorName;
  enabled?: boolean | null;
  intervalSeconds?: number | null;
}

export function checkInterval(issues: Issues, path: string[], collector: CollectorName, seconds: number | null | undefined): void {
  if (seconds === null || seconds === undefined) return;
  const { min, max } = POLLING_INTERVAL_BOUNDS[collector];
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) issues.add(path, `must be whole seconds from ${min} to ${max}`);
}

export interface CollectorSettingsData {
  disabledCollectors?: string[];
  systemInterval?: number | null;
  containerInterval?: number | null;
  driveInterval?: number | null;
  storageInterval?: number | null;
  sensorInterval?: number | null;
  gpuInterval?: number | null;
  /** Collectors switched on again: their stored state is forgotten. */
  reenabled: CollectorName[];
}

/** Validates `collectors` against the device's current settings; returns the columns to write. */
export function checkCollectorSettings(
  issues: Issues,
  settings: readonly CollectorSettingArg[] | null | undefined,
  current: { disabledCollectors: readonly string[] },
): CollectorSettingsData {
  const out: CollectorSettingsData = { reenabled: [] };
  if (!settings) return out;
  const seen = new Set<CollectorName>();
  const disabled = new Set(current.disabledCollectors);
  settings.forEach((s, i) => {
    const path = ['input', 'collectors', String(i)];
    if (seen.has(s.name)) issues.add([...path, 'name'], 'each collector at most once');
    seen.add(s.name);
    checkInterval(issues, [...path, 'intervalSeconds'], s.name, s.intervalSeconds);
    if (s.intervalSeconds !== undefined) out[INTERVAL_COLUMN[s.name]] = s.intervalSeconds;
    if (s.enabled === false) disabled.add(s.name);
    if (s.enabled === true && disabled.delete(s.name)) out.reenabled.push(s.name);
  });
  if (COLLECTOR_NAMES.every((n) => disabled.has(n))) {
    issues.add(['input', 'collectors'], 'at least one collector must stay on (set monitoringEnabled: false to stop polling the device)');
  }
  out.disabledCollectors = COLLECTOR_NAMES.filter((n) => disabled.has(n));
  return out;
}
