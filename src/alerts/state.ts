/**
 * What the evaluator remembers between samples: the enabled rules, the devices they may cover,
 * the active silences and every open (not RESOLVED) alert with its hysteresis track. The
 * database is the truth; this is its cache, reloaded on `alertConfigChanged` and periodically.
 */
import type { PrismaClient } from '../db/index.ts';
import { baselineKey, type DriveBaselines, type RuleSpec, type Track } from './rules.ts';
import type { DriveCounters } from '../collectors/drives.ts';
import { loadSilences, type SilenceSpec } from './silences.ts';

export interface DeviceInfo {
  id: string;
  name: string;
  tags: string[];
}

export interface OpenAlert {
  alertId: string;
  ruleId: string;
  deviceId: string;
  subject: string;
  track: Track;
}

export const alertKey = (ruleId: string, deviceId: string, subject: string) => `${ruleId}\u0000${deviceId}\u0000${subject}`;

type RuleRow = Awaited<ReturnType<PrismaClient['alertRule']['findMany']>>[number];

export function toRuleSpec(r: RuleRow): RuleSpec {
  return {
    id: r.id,
    name: r.name,
    metric: r.metric,
    comparator: r.comparator,
    threshold: r.threshold,
    value: r.value,
    clearThreshold: r.clearThreshold,
    subject: r.subject,
    forSeconds: r.forSeconds,
    repeatSeconds: r.repeatSeconds,
    severity: r.severity,
    deviceIds: r.deviceIds,
    tags: r.tags,
    channelIds: r.channelIds,
    enabled: r.enabled,
    builtin: r.builtin,
  };
}

/** An enabled check as CHECK_STATUS / CHECK_VALUE alerts need it: which devices it runs on. */
export interface CheckScope {
  name: string;
  deviceIds: string[];
  tags: string[];
}

export type AlertState = ReturnType<typeof createAlertState>;

export function createAlertState(prisma: PrismaClient) {
  const state = {
    rules: [] as RuleSpec[],
    rulesById: new Map<string, RuleSpec>(),
    devices: new Map<string, DeviceInfo>(),
    silences: [] as SilenceSpec[],
    open: new Map<string, OpenAlert>(),
    baselines: new Map() as DriveBaselines,
    checks: new Map<string, CheckScope>(),

    async loadRules(): Promise<void> {
      state.rules = (await prisma.alertRule.findMany({ where: { enabled: true }, orderBy: { createdAt: 'asc' } })).map(toRuleSpec);
      state.rulesById = new Map(state.rules.map((r) => [r.id, r]));
    },

    /** Every device, with its current status (for DEVICE_STATUS rules). */
    async loadDevices(): Promise<{ id: string; status: string }[]> {
      const rows = await prisma.device.findMany({ select: { id: true, name: true, tags: true, status: true } });
      state.devices.clear();
      for (const d of rows) state.devices.set(d.id, { id: d.id, name: d.name, tags: d.tags });
      return rows;
    },

    /** Acknowledged drive counters (DRIVE_COUNTER_INCREASE), reloaded with the rules: acknowledging publishes alertConfigChanged. */
    async loadBaselines(): Promise<void> {
      const rows = await prisma.driveBaseline.findMany();
      state.baselines = new Map(rows.map((b) => [baselineKey(b.deviceId, b.drive), b.counters as Partial<DriveCounters>]));
    },

    /** Enabled checks by name, reloaded with the rules and on `checksChanged`: alerts of a check that no longer runs on a device resolve. */
    async loadChecks(): Promise<void> {
      const rows = await prisma.check.findMany({ where: { enabled: true }, select: { name: true, deviceIds: true, tags: true } });
      state.checks = new Map(rows.map((c) => [c.name, c]));
    },

    /** The check a CHECK_STATUS / CHECK_VALUE alert's subject belongs to (the longest name before a "/" for a value), if it is enabled. */
    checkOf(metric: string, subject: string): CheckScope | undefined {
      if (metric === 'CHECK_STATUS') return state.checks.get(subject);
      let found: CheckScope | undefined;
      for (const c of state.checks.values()) if (subject.startsWith(`${c.name}/`) && c.name.length > (found?.name.length ?? -1)) found = c;
      return found;
    },

    async loadSilences(at: Date): Promise<void> {
      state.silences = await loadSilences(prisma, at);
    },

    /** A device by id, read once when a sample names one created since the last reload. */
    async device(id: string): Promise<DeviceInfo | null> {
      const known = state.devices.get(id);
      if (known) return known;
      const row = await prisma.device.findUnique({ where: { id }, select: { id: true, name: true, tags: true } });
      if (row) state.devices.set(id, row);
      return row;
    },

    async loadOpenAlerts(): Promise<void> {
      const rows = await prisma.alert.findMany({ where: { state: { not: 'RESOLVED' } } });
      state.open.clear();
      for (const a of rows) {
        if (a.state === 'RESOLVED') continue;
        state.open.set(alertKey(a.ruleId, a.deviceId, a.subject), {
          alertId: a.id,
          ruleId: a.ruleId,
          deviceId: a.deviceId,
          subject: a.subject,
          track: { state: a.state, pendingSince: a.pendingSince.getTime(), firedAt: a.firedAt?.getTime() ?? null, lastNotifiedAt: a.lastNotifiedAt?.getTime() ?? null },
        });
      }
    },
  };
  return state;
}
