/**
 * Silences (maintenance windows): matchers over devices, device tags, rules and severities,
 * between startsAt and endsAt (always given: every silence expires). They suppress
 * notifications only; alerts keep changing state underneath.
 */
import type { PrismaClient } from '../db/index.ts';
import type { Severity } from './rules.ts';

export interface SilenceMatchers {
  deviceIds?: string[];
  tags?: string[];
  ruleIds?: string[];
  severities?: Severity[];
}

export interface SilenceSpec {
  id: string;
  matchers: SilenceMatchers;
  startsAt: Date;
  endsAt: Date;
}

export interface SilenceTarget {
  deviceId: string;
  deviceTags: readonly string[];
  ruleId: string;
  severity: Severity;
}

const SEVERITIES = new Set<string>(['INFO', 'WARNING', 'CRITICAL']);

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

/** Matchers as stored (JSON): anything malformed is dropped rather than trusted. */
export function parseMatchers(json: unknown): SilenceMatchers {
  const o = json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  const out: SilenceMatchers = {};
  const deviceIds = strings(o.deviceIds);
  const tags = strings(o.tags);
  const ruleIds = strings(o.ruleIds);
  const severities = strings(o.severities)?.filter((s): s is Severity => SEVERITIES.has(s));
  if (deviceIds?.length) out.deviceIds = deviceIds;
  if (tags?.length) out.tags = tags;
  if (ruleIds?.length) out.ruleIds = ruleIds;
  if (severities?.length) out.severities = severities;
  return out;
}

/** Every matcher given must match; a list matches when it contains the alert's value (tags: any of the device's). */
export function silenceMatches(m: SilenceMatchers, t: SilenceTarget): boolean {
  if (!m.deviceIds && !m.tags && !m.ruleIds && !m.severities) return false;
  if (m.deviceIds && !m.deviceIds.includes(t.deviceId)) return false;
  if (m.tags && !m.tags.some((tag) => t.deviceTags.includes(tag))) return false;
  if (m.ruleIds && !m.ruleIds.includes(t.ruleId)) return false;
  if (m.severities && !m.severities.includes(t.severity)) return false;
  return true;
}

export function isActive(s: Pick<SilenceSpec, 'startsAt' | 'endsAt'>, now: Date): boolean {
  return s.startsAt.getTime() <= now.getTime() && now.getTime() < s.endsAt.getTime();
}

export function silencedBy(silences: readonly SilenceSpec[], t: SilenceTarget, now: Date): SilenceSpec | undefined {
  return silences.find((s) => isActive(s, now) && silenceMatches(s.matchers, t));
}

/** Silences active now or starting later (expired ones never match again). */
export async function loadSilences(prisma: PrismaClient, now: Date): Promise<SilenceSpec[]> {
  const rows = await prisma.silence.findMany({ where: { endsAt: { gt: now } } });
  return rows.map((r) => ({ id: r.id, matchers: parseMatchers(r.matchers), startsAt: r.startsAt, endsAt: r.endsAt }));
}
