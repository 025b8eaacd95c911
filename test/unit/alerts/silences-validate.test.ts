import { describe, expect, it } from 'vitest';
import { parseMatchers, silencedBy, silenceMatches } from '../../../src/alerts/silences.ts';
import { validateChannel, validateRule, validateSilence, type RuleFields } from '../../../src/alerts/validate.ts';

describe('silences', () => {
  const target = { deviceId: 'd1', deviceTags: ['prod', 'db'], ruleId: 'r1', severity: 'WARNING' as const };

  it('every given matcher must match', () => {
    expect(silenceMatches({ deviceIds: ['d1'] }, target)).toBe(true);
    expect(silenceMatches({ deviceIds: ['d1'], severities: ['CRITICAL'] }, target)).toBe(false);
    expect(silenceMatches({ tags: ['db'], ruleIds: ['r1'] }, target)).toBe(true);
    expect(silenceMatches({ tags: ['web'] }, target)).toBe(false);
    expect(silenceMatches({}, target)).toBe(false);
  });

  it('applies only between startsAt and endsAt', () => {
    const s = [{ id: 's', matchers: { deviceIds: ['d1'] }, startsAt: new Date(1000), endsAt: new Date(2000) }];
    expect(silencedBy(s, target, new Date(999))).toBeUndefined();
    expect(silencedBy(s, target, new Date(1000))?.id).toBe('s');
    expect(silencedBy(s, target, new Date(2000))).toBeUndefined();
  });

  it('drops malformed stored matchers', () => {
    expect(parseMatchers({ deviceIds: ['a', 3], severities: ['LOUD', 'INFO'], tags: 'x' })).toEqual({ deviceIds: ['a'], severities: ['INFO'] });
    expect(parseMatchers(null)).toEqual({});
  });

  it('validation: a matcher, an end after the start and in the future, at most 366 days', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const base = { deviceIds: [], tags: [], ruleIds: [], severities: [], startsAt: now, endsAt: new Date('2026-01-02T00:00:00Z'), comment: '' };
    expect(validateSilence(base, now).issues.map((i) => i.path.join('.'))).toEqual(['input.matchers']);
    expect(validateSilence({ ...base, tags: ['prod'] }, now).issues).toEqual([]);
    expect(validateSilence({ ...base, tags: ['prod'], endsAt: new Date('2025-12-31T00:00:00Z') }, now).issues[0]?.path).toEqual(['input', 'endsAt']);
    expect(validateSilence({ ...base, tags: ['prod'], endsAt: new Date('2027-06-01T00:00:00Z') }, now).issues[0]?.message).toMatch(/366 days/);
  });
});

describe('rule validation', () => {
  const base: RuleFields = { name: 'cpu', metric: 'CPU_PERCENT', comparator: 'GT', threshold: 90, value: null, clearThreshold: 80, subject: null, forSeconds: 60, repeatSeconds: 3600, severity: 'WARNING', deviceIds: [], tags: [], channelIds: [], enabled: true };
  const paths = (r: RuleFields) => validateRule(r).issues.map((i) => i.path.join('.'));

  it('accepts a sound rule and normalises state values', () => {
    expect(paths(base)).toEqual([]);
    const r = validateRule({ ...base, metric: 'DEVICE_STATUS', comparator: 'EQ', threshold: null, clearThreshold: null, value: 'offline' });
    expect(r.issues).toEqual([]);
    expect(r.rule.value).toBe('OFFLINE');
  });

  it('names each bad field', () => {
    expect(paths({ ...base, name: ' ', threshold: Number.NaN, forSeconds: -1, repeatSeconds: 5, tags: ['ok', 'no spaces'] })).toEqual([
      'input.name',
      'input.threshold',
      'input.forSeconds',
      'input.repeatSeconds',
      'input.tags.1',
    ]);
    expect(paths({ ...base, clearThreshold: 95 })).toEqual(['input.clearThreshold']);
    expect(paths({ ...base, comparator: 'LT', threshold: 10, clearThreshold: 5 })).toEqual(['input.clearThreshold']);
    expect(paths({ ...base, metric: 'DRIVE_HEALTH', comparator: 'GT', value: 'BROKEN' })).toEqual(['input.comparator', 'input.threshold', 'input.clearThreshold', 'input.value']);
    expect(paths({ ...base, value: 'x' })).toEqual(['input.value']);
  });

  it('a subject only where observations have one; CHECK_VALUE needs "<check>/<key>"', () => {
    const value: RuleFields = { ...base, metric: 'CHECK_VALUE', clearThreshold: null, subject: 'backup/age' };
    expect(paths(value)).toEqual([]);
    expect(paths({ ...value, subject: null })).toEqual(['input.subject']);
    expect(paths({ ...value, subject: 'backup' })).toEqual(['input.subject']);
    expect(paths({ ...base, subject: '/' })).toEqual(['input.subject']);
    const status = validateRule({ ...base, metric: 'CHECK_STATUS', comparator: 'EQ', threshold: null, clearThreshold: null, value: 'timeout', subject: ' backup ' });
    expect(status.issues).toEqual([]);
    expect(status.rule).toMatchObject({ value: 'TIMEOUT', subject: 'backup' });
    expect(validateRule({ ...status.rule, subject: '  ' }).rule.subject).toBeNull();
  });
});

describe('channel validation', () => {
  const base = { name: 'hook', kind: 'WEBHOOK' as const, url: 'https://example.com/hook', enabled: true, emailTo: [], emailFrom: null, smtpUsername: null, requireTls: false };
  const paths = (c: Parameters<typeof validateChannel>[0], secret?: string | null) => validateChannel(c, secret, { allowPrivateNetworks: false }).issues.map((i) => i.path.join('.'));

  it('http(s) only for web channels, smtp(s) for email, no credentials in the URL', () => {
    expect(paths(base)).toEqual([]);
    for (const url of ['ftp://example.com', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', 'https://user:pw@example.com/']) expect(paths({ ...base, url })).toEqual(['input.url']);
    expect(paths({ ...base, kind: 'EMAIL', url: 'https://example.com' })).toEqual(['input.url', 'input.emailTo']);
    expect(paths({ ...base, kind: 'EMAIL', url: 'smtp://mail.example.com:587', emailTo: ['ops@example.com'] })).toEqual([]);
    expect(paths({ ...base, kind: 'EMAIL', url: 'smtps://mail.example.com', emailTo: ['nope'], emailFrom: 'x' })).toEqual(['input.emailTo.0', 'input.emailFrom']);
    expect(paths({ ...base, emailTo: ['a@b.c'] })).toEqual(['input.emailTo']);
    expect(paths(base, '')).toEqual(['input.secret']);
  });
});
