/**
 * Input rules for alert rules, channels and silences: each returns every problem with its
 * field path (so one response lists them all and nothing is written) plus the normalised
 * value to store. Existence checks (devices, channels, rules) are the caller's: they need the
 * database.
 */
import type { ChannelKind } from '../db/generated/enums.ts';
import { literalRefusal } from './channels/destination.ts';
import { hasSubjects, STATE_METRICS, STATE_VALUES, type RuleFields, type Severity } from './rules.ts';

export type { RuleFields };

export interface Issue {
  path: string[];
  message: string;
}

export const ALERT_LIMITS = {
  nameMax: 100,
  forSecondsMax: 7 * 86_400,
  repeatSecondsMin: 60,
  repeatSecondsMax: 30 * 86_400,
  idsMax: 200,
  tagsMax: 20,
  urlMax: 2048,
  secretMax: 4096,
  recipientsMax: 50,
  commentMax: 1000,
  subjectMax: 300,
  silenceMaxDays: 366,
} as const;

const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const TAG = /^[A-Za-z0-9_.:-]{1,50}$/;
const EMAIL = /^[^\s@<>(),;:"[\]\\]+@[A-Za-z0-9.-]+\.?[A-Za-z0-9-]*$/;

function checkName(issues: Issue[], path: string[], value: string): string {
  const name = value.trim();
  if (name.length < 1 || name.length > ALERT_LIMITS.nameMax) issues.push({ path, message: `must be 1 to ${ALERT_LIMITS.nameMax} characters` });
  else if (UNPRINTABLE.test(name)) issues.push({ path, message: 'must be printable text (no control characters)' });
  return name;
}

export function checkIds(issues: Issue[], path: string[], ids: readonly string[]): string[] {
  if (ids.length > ALERT_LIMITS.idsMax) issues.push({ path, message: `at most ${ALERT_LIMITS.idsMax} ids` });
  ids.forEach((id, i) => {
    if (id.length < 1 || id.length > 100 || UNPRINTABLE.test(id)) issues.push({ path: [...path, String(i)], message: 'is not an id' });
  });
  return [...new Set(ids)];
}

function checkTags(issues: Issue[], path: string[], tags: readonly string[]): string[] {
  if (tags.length > ALERT_LIMITS.tagsMax) issues.push({ path, message: `at most ${ALERT_LIMITS.tagsMax} tags` });
  tags.forEach((tag, i) => {
    if (!TAG.test(tag)) issues.push({ path: [...path, String(i)], message: 'must be 1 to 50 characters of A-Z a-z 0-9 _ . : -' });
  });
  return [...new Set(tags)];
}

/** `subject`: the one subject a rule watches; CHECK_VALUE watches one value of one check ("backup/age"), CHECK_STATUS may name its check. */
function checkSubject(issues: Issue[], path: string[], r: RuleFields): string | null {
  const subject = r.subject?.trim() || null;
  if (subject === null) {
    if (r.metric === 'CHECK_VALUE') issues.push({ path, message: 'CHECK_VALUE watches one value: give subject as "<check name>/<value key>", e.g. backup/age' });
    return null;
  }
  if (!hasSubjects(r.metric)) issues.push({ path, message: `${r.metric} is about the device itself: it has no subject` });
  else if (subject.length > ALERT_LIMITS.subjectMax || UNPRINTABLE.test(subject)) issues.push({ path, message: `must be 1 to ${ALERT_LIMITS.subjectMax} printable characters` });
  else if (r.metric === 'CHECK_VALUE' && !/^[^/]+\/./.test(subject)) issues.push({ path, message: 'must be "<check name>/<value key>", e.g. backup/age' });
  return subject;
}

/** A whole rule (create, or an update merged over the stored rule). */
export function validateRule(r: RuleFields, path: string[] = ['input']): { issues: Issue[]; rule: RuleFields } {
  const issues: Issue[] = [];
  const at = (field: string) => [...path, field];
  const name = checkName(issues, at('name'), r.name);
  let value = r.value;
  if (STATE_METRICS.has(r.metric)) {
    if (r.comparator !== 'EQ' && r.comparator !== 'NEQ') issues.push({ path: at('comparator'), message: `${r.metric} is a state: use EQ or NEQ` });
    if (r.threshold !== null) issues.push({ path: at('threshold'), message: `${r.metric} compares \`value\`, not a threshold` });
    if (r.clearThreshold !== null) issues.push({ path: at('clearThreshold'), message: `${r.metric} has no clear threshold: the alert resolves when the state no longer matches` });
    const allowed = STATE_VALUES[r.metric] ?? [];
    const canonical = value === null ? undefined : allowed.find((v) => v.toLowerCase() === value!.trim().toLowerCase());
    if (!canonical) issues.push({ path: at('value'), message: `must be one of ${allowed.join(', ')}` });
    value = canonical ?? value;
  } else {
    if (value !== null) issues.push({ path: at('value'), message: `${r.metric} is numeric: give a threshold, not a value` });
    if (r.threshold === null || !Number.isFinite(r.threshold)) issues.push({ path: at('threshold'), message: 'must be a finite number' });
    if (r.clearThreshold !== null) {
      if (!Number.isFinite(r.clearThreshold)) issues.push({ path: at('clearThreshold'), message: 'must be a finite number' });
      else if (r.threshold !== null && Number.isFinite(r.threshold)) {
        if ((r.comparator === 'GT' || r.comparator === 'GTE') && r.clearThreshold > r.threshold) {
          issues.push({ path: at('clearThreshold'), message: 'must not be above the threshold (the alert clears when the value falls back to it)' });
        }
        if ((r.comparator === 'LT' || r.comparator === 'LTE') && r.clearThreshold < r.threshold) {
          issues.push({ path: at('clearThreshold'), message: 'must not be below the threshold (the alert clears when the value rises back to it)' });
        }
        if (r.comparator === 'EQ' || r.comparator === 'NEQ') issues.push({ path: at('clearThreshold'), message: 'only GT, GTE, LT and LTE rules have a clear threshold' });
      }
    }
  }
  if (!Number.isInteger(r.forSeconds) || r.forSeconds < 0 || r.forSeconds > ALERT_LIMITS.forSecondsMax) {
    issues.push({ path: at('forSeconds'), message: `must be a whole number from 0 to ${ALERT_LIMITS.forSecondsMax}` });
  }
  if (r.repeatSeconds !== null && (!Number.isInteger(r.repeatSeconds) || r.repeatSeconds < ALERT_LIMITS.repeatSecondsMin || r.repeatSeconds > ALERT_LIMITS.repeatSecondsMax)) {
    issues.push({ path: at('repeatSeconds'), message: `must be null (never) or a whole number from ${ALERT_LIMITS.repeatSecondsMin} to ${ALERT_LIMITS.repeatSecondsMax}` });
  }
  const subject = checkSubject(issues, at('subject'), r);
  const deviceIds = checkIds(issues, at('deviceIds'), r.deviceIds);
  const channelIds = checkIds(issues, at('channelIds'), r.channelIds);
  const tags = checkTags(issues, at('tags'), r.tags);
  return { issues, rule: { ...r, name, value, subject, deviceIds, channelIds, tags } };
}

export interface ChannelFields {
  name: string;
  kind: ChannelKind;
  url: string;
  enabled: boolean;
  /** Email only. */
  emailTo: string[];
  emailFrom: string | null;
  smtpUsername: string | null;
  requireTls: boolean;
}

/** `allowPrivateNetworks`: NOTIFY_ALLOW_PRIVATE_NETWORKS; without it a private IP literal is refused here (names are checked when sending). */
export function validateChannel(
  c: ChannelFields,
  secret: string | null | undefined,
  { allowPrivateNetworks }: { allowPrivateNetworks: boolean },
  path: string[] = ['input'],
): { issues: Issue[]; channel: ChannelFields; config: Record<string, unknown> } {
  const issues: Issue[] = [];
  const at = (field: string) => [...path, field];
  const name = checkName(issues, at('name'), c.name);
  const url = c.url.trim();
  const schemes = c.kind === 'EMAIL' ? ['smtp:', 'smtps:'] : ['http:', 'https:'];
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (url.length > ALERT_LIMITS.urlMax) issues.push({ path: at('url'), message: `must be at most ${ALERT_LIMITS.urlMax} characters` });
  // The URL parser drops CR, LF and tab without a word: what is stored must be what is used.
  else if (UNPRINTABLE.test(url)) issues.push({ path: at('url'), message: 'must not contain control characters' });
  else if (!parsed || !schemes.includes(parsed.protocol) || !parsed.hostname) {
    issues.push({ path: at('url'), message: c.kind === 'EMAIL' ? 'must be an smtp:// or smtps:// URL with a host, e.g. smtp://mail.example.com:587' : 'must be an http:// or https:// URL with a host' });
  } else if (parsed.username || parsed.password) {
    issues.push({ path: at('url'), message: 'must not carry credentials: put them in `secret` (and `smtpUsername`)' });
  } else {
    const refused = literalRefusal(parsed.hostname, allowPrivateNetworks);
    if (refused) issues.push({ path: at('url'), message: `must not be a private or local address: ${refused}` });
  }
  if (secret !== undefined && secret !== null && (secret.length < 1 || secret.length > ALERT_LIMITS.secretMax)) {
    issues.push({ path: at('secret'), message: `must be 1 to ${ALERT_LIMITS.secretMax} characters` });
  }
  const config: Record<string, unknown> = {};
  if (c.kind === 'EMAIL') {
    if (c.emailTo.length < 1 || c.emailTo.length > ALERT_LIMITS.recipientsMax) issues.push({ path: at('emailTo'), message: `1 to ${ALERT_LIMITS.recipientsMax} recipients` });
    c.emailTo.forEach((a, i) => {
      if (!EMAIL.test(a) || a.length > 254) issues.push({ path: [...at('emailTo'), String(i)], message: 'is not an email address' });
    });
    if (c.emailFrom !== null && (!EMAIL.test(c.emailFrom) || c.emailFrom.length > 254)) issues.push({ path: at('emailFrom'), message: 'is not an email address' });
    if (c.smtpUsername !== null && (c.smtpUsername.length < 1 || c.smtpUsername.length > 254 || UNPRINTABLE.test(c.smtpUsername))) {
      issues.push({ path: at('smtpUsername'), message: 'must be 1 to 254 printable characters' });
    }
    config.to = [...new Set(c.emailTo)];
    if (c.emailFrom) config.from = c.emailFrom;
    if (c.smtpUsername) config.username = c.smtpUsername;
    if (c.requireTls) config.requireTls = true;
  } else {
    if (c.emailTo.length) issues.push({ path: at('emailTo'), message: 'only EMAIL channels have recipients' });
    if (c.emailFrom !== null) issues.push({ path: at('emailFrom'), message: 'only EMAIL channels have a sender' });
    if (c.smtpUsername !== null) issues.push({ path: at('smtpUsername'), message: 'only EMAIL channels have an SMTP user' });
  }
  return { issues, channel: { ...c, name, url }, config };
}

/**
 * Where a channel's stored secret goes: its URL (host, path, SMTP server), its kind (a WEBHOOK
 * HMAC key only signs, an NTFY or GOTIFY token is sent as-is), the SMTP username it is sent
 * with, and TLS (turning requireTls off lets the password cross the network in the clear).
 * The fields of `next` that change any of that, as issues for a caller who may not move it.
 */
export function secretDestinationChanges(before: ChannelFields, next: ChannelFields, path: string[] = ['input']): Issue[] {
  const changed: (keyof ChannelFields)[] = [];
  if (next.url !== before.url) changed.push('url');
  if (next.kind !== before.kind) changed.push('kind');
  if (next.kind === 'EMAIL' && next.smtpUsername !== before.smtpUsername) changed.push('smtpUsername');
  if (before.requireTls && !next.requireTls) changed.push('requireTls');
  return changed.map((field) => ({
    path: [...path, field],
    message: 'the channel holds a secret, and this changes where it is sent: that needs the ADMIN role (or give `secret` again, or null to remove it)',
  }));
}

export interface SilenceFields {
  deviceIds: string[];
  tags: string[];
  ruleIds: string[];
  severities: Severity[];
  startsAt: Date;
  endsAt: Date;
  comment: string;
}

export function validateSilence(s: SilenceFields, now: Date, path: string[] = ['input']): { issues: Issue[]; silence: SilenceFields } {
  const issues: Issue[] = [];
  const at = (...field: string[]) => [...path, ...field];
  const deviceIds = checkIds(issues, at('matchers', 'deviceIds'), s.deviceIds);
  const ruleIds = checkIds(issues, at('matchers', 'ruleIds'), s.ruleIds);
  const tags = checkTags(issues, at('matchers', 'tags'), s.tags);
  const severities = [...new Set(s.severities)];
  if (!deviceIds.length && !tags.length && !ruleIds.length && !severities.length) {
    issues.push({ path: at('matchers'), message: 'give at least one matcher (deviceIds, tags, ruleIds or severities); all three severities silence everything' });
  }
  if (Number.isNaN(s.startsAt.getTime())) issues.push({ path: at('startsAt'), message: 'must be a date' });
  if (Number.isNaN(s.endsAt.getTime())) issues.push({ path: at('endsAt'), message: 'must be a date' });
  else if (s.endsAt.getTime() <= s.startsAt.getTime()) issues.push({ path: at('endsAt'), message: 'must be after startsAt' });
  else if (s.endsAt.getTime() <= now.getTime()) issues.push({ path: at('endsAt'), message: 'must be in the future' });
  else if (s.endsAt.getTime() - Math.max(s.startsAt.getTime(), now.getTime()) > ALERT_LIMITS.silenceMaxDays * 86_400_000) {
    issues.push({ path: at('endsAt'), message: `a silence lasts at most ${ALERT_LIMITS.silenceMaxDays} days: every silence expires` });
  }
  const comment = s.comment.trim();
  if (comment.length > ALERT_LIMITS.commentMax) issues.push({ path: at('comment'), message: `at most ${ALERT_LIMITS.commentMax} characters` });
  return { issues, silence: { ...s, deviceIds, tags, ruleIds, severities, comment } };
}
