/**
 * Alerting API: alert rules (CRUD), alerts (a paginated history, acknowledgement) and the
 * live `alertChanged` subscription. Channels and silences have their own modules.
 * Devices are referenced by id (`deviceId`, a Device's id everywhere).
 */
import { resolveCursorConnection } from '@pothos/plugin-relay';
import { ALERT_METRICS, metricFamily, STATE_METRICS } from '../../alerts/rules.ts';
import { validateRule, type Issue, type RuleFields } from '../../alerts/validate.ts';
import type { AlertEventPayload } from '../../events/index.ts';
import { isUniqueViolation, type Alert, type AlertRule, type Prisma, type PrismaClient } from '../../db/index.ts';
import { pagedList, type PageSize } from '../../security/cost.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { liveEvents, scopeArgs } from './live.ts';

/* ---------------------------------------------------------------- enums */

export const AlertMetricEnum = builder.enumType('AlertMetric', {
  description: 'What a rule watches. Numeric metrics compare `threshold`; DRIVE_HEALTH, CONTAINER_STATE, CONTAINER_HEALTH, DEVICE_STATUS and CHECK_STATUS compare `value` (EQ/NEQ).',
  values: Object.fromEntries(ALERT_METRICS.map((m) => [m, { description: STATE_METRICS.has(m) ? 'A state (compare `value`).' : undefined }])) as Record<(typeof ALERT_METRICS)[number], { description?: string }>,
});

export const ComparatorEnum = builder.enumType('Comparator', { values: ['GT', 'GTE', 'LT', 'LTE', 'EQ', 'NEQ'] as const });
export const SeverityEnum = builder.enumType('Severity', { values: ['INFO', 'WARNING', 'CRITICAL'] as const });
export const AlertStateEnum = builder.enumType('AlertState', {
  values: {
    PENDING: { description: 'The condition holds, for less than the rule\'s forSeconds so far.' },
    FIRING: { description: 'Notified; repeats every repeatSeconds until resolved or acknowledged.' },
    ACKNOWLEDGED: { description: 'Someone is on it: no repeats; still resolves by itself.' },
    RESOLVED: { description: 'Over: the value crossed the clear threshold back (or the subject went away).' },
  } as const,
});

/* ---------------------------------------------------------------- AlertRule */

const SUBJECT_TEXT = 'Only this subject: a check\'s name (CHECK_STATUS), "<check name>/<value key>" (CHECK_VALUE, required), a mount point, drive or container; null: every subject.';

export const AlertRuleRef = builder.objectRef<AlertRule>('AlertRule').implement({
  description: 'A condition on a metric of the devices in scope. An open alert exists per rule, device and subject (mount point, drive, container, check, check value).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    metric: t.field({ type: AlertMetricEnum, resolve: (r) => r.metric }),
    comparator: t.field({ type: ComparatorEnum, resolve: (r) => r.comparator }),
    threshold: t.exposeFloat('threshold', { nullable: true, description: 'Numeric metrics: fires when `value <comparator> threshold`.' }),
    value: t.exposeString('value', { nullable: true, description: 'State metrics: the state compared with EQ/NEQ.' }),
    clearThreshold: t.exposeFloat('clearThreshold', { nullable: true, description: 'Hysteresis: an open alert resolves only when the condition no longer holds against this (default: threshold).' }),
    subject: t.exposeString('subject', { nullable: true, description: SUBJECT_TEXT }),
    forSeconds: t.exposeInt('forSeconds', { description: 'How long the condition must hold (across samples) before FIRING.' }),
    repeatSeconds: t.exposeInt('repeatSeconds', { nullable: true, description: 'Re-notify while FIRING this often; null: once.' }),
    severity: t.field({ type: SeverityEnum, resolve: (r) => r.severity }),
    deviceIds: t.exposeIDList('deviceIds', { description: 'Scope: these devices (or any device with one of `tags`); neither given: every device.' }),
    tags: t.exposeStringList('tags'),
    channelIds: t.exposeIDList('channelIds', { description: 'Where notifications go; empty: every enabled channel.' }),
    enabled: t.exposeBoolean('enabled'),
    builtin: t.exposeBoolean('builtin', { description: 'Shipped with infrapulse and re-created at start when absent: disable it rather than delete it.' }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (r) => r.updatedAt }),
  }),
});

const CreateAlertRuleInput = builder.inputType('CreateAlertRuleInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    metric: t.field({ type: AlertMetricEnum, required: true }),
    comparator: t.field({ type: ComparatorEnum, required: true }),
    threshold: t.float({ required: false, description: 'Numeric metrics only.' }),
    value: t.string({ required: false, description: 'State metrics only, e.g. OFFLINE, CRITICAL, exited, unhealthy.' }),
    clearThreshold: t.float({ required: false, description: 'Default: threshold. GT/GTE: at most threshold; LT/LTE: at least threshold.' }),
    subject: t.string({ required: false, description: SUBJECT_TEXT }),
    forSeconds: t.int({ required: false, description: 'Default 0 (fire on the first matching sample).' }),
    repeatSeconds: t.int({ required: false, description: 'Default null (notify once).' }),
    severity: t.field({ type: SeverityEnum, required: false, description: 'Default WARNING.' }),
    deviceIds: t.idList({ required: false }),
    tags: t.stringList({ required: false }),
    channelIds: t.idList({ required: false }),
    enabled: t.boolean({ required: false }),
  }),
});

const UpdateAlertRuleInput = builder.inputType('UpdateAlertRuleInput', {
  description: 'Only the fields given change; null clears threshold, value, clearThreshold, subject or repeatSeconds.',
  fields: (t) => ({
    name: t.string({ required: false }),
    metric: t.field({ type: AlertMetricEnum, required: false }),
    comparator: t.field({ type: ComparatorEnum, required: false }),
    threshold: t.float({ required: false }),
    value: t.string({ required: false }),
    clearThreshold: t.float({ required: false }),
    subject: t.string({ required: false }),
    forSeconds: t.int({ required: false }),
    repeatSeconds: t.int({ required: false }),
    severity: t.field({ type: SeverityEnum, required: false }),
    deviceIds: t.idList({ required: false }),
    tags: t.stringList({ required: false }),
    channelIds: t.idList({ required: false }),
    enabled: t.boolean({ required: false }),
  }),
});

interface RuleInput {
  name?: string | null;
  metric?: RuleFields['metric'] | null;
  comparator?: RuleFields['comparator'] | null;
  threshold?: number | null;
  value?: string | null;
  clearThreshold?: number | null;
  subject?: string | null;
  forSeconds?: number | null;
  repeatSeconds?: number | null;
  severity?: RuleFields['severity'] | null;
  deviceIds?: readonly (string | number)[] | null;
  tags?: readonly string[] | null;
  channelIds?: readonly (string | number)[] | null;
  enabled?: boolean | null;
}

/** The stored rule with the given fields over it: undefined keeps, null clears the nullable ones. */
function merge(base: RuleFields, input: RuleInput): RuleFields {
  const keep = <T>(v: T | null | undefined, old: T): T => (v === undefined || v === null ? old : v);
  const nullable = <T>(v: T | null | undefined, old: T | null): T | null => (v === undefined ? old : v);
  return {
    name: keep(input.name, base.name),
    metric: keep(input.metric, base.metric),
    comparator: keep(input.comparator, base.comparator),
    threshold: nullable(input.threshold, base.threshold),
    value: nullable(input.value, base.value),
    clearThreshold: nullable(input.clearThreshold, base.clearThreshold),
    subject: nullable(input.subject, base.subject),
    forSeconds: keep(input.forSeconds, base.forSeconds),
    repeatSeconds: nullable(input.repeatSeconds, base.repeatSeconds),
    severity: keep(input.severity, base.severity),
    deviceIds: input.deviceIds ? input.deviceIds.map(String) : base.deviceIds,
    tags: input.tags ? [...input.tags] : base.tags,
    channelIds: input.channelIds ? input.channelIds.map(String) : base.channelIds,
    enabled: keep(input.enabled, base.enabled),
  };
}

/** Devices and channels named by a rule must exist, and so must the check its subject names (a typo would never fire). */
async function checkReferences(prisma: PrismaClient, r: RuleFields, issues: Issue[]): Promise<void> {
  if (r.subject !== null && metricFamily(r.metric) === 'checks') {
    const names = (await prisma.check.findMany({ select: { name: true } })).map((c) => c.name);
    const known = r.metric === 'CHECK_STATUS' ? names.includes(r.subject) : names.some((n) => r.subject!.startsWith(`${n}/`));
    if (!known) issues.push({ path: ['input', 'subject'], message: r.metric === 'CHECK_STATUS' ? `no check named "${r.subject}"` : `no check named "${r.subject.split('/')[0]}" (subject is "<check name>/<value key>")` });
  }
  if (r.deviceIds.length) {
    const found = new Set((await prisma.device.findMany({ where: { id: { in: r.deviceIds } }, select: { id: true } })).map((d) => d.id));
    r.deviceIds.forEach((id, i) => found.has(id) || issues.push({ path: ['input', 'deviceIds', String(i)], message: `no device ${id}` }));
  }
  if (r.channelIds.length) {
    const found = new Set((await prisma.notificationChannel.findMany({ where: { id: { in: r.channelIds } }, select: { id: true } })).map((c) => c.id));
    r.channelIds.forEach((id, i) => found.has(id) || issues.push({ path: ['input', 'channelIds', String(i)], message: `no notification channel ${id}` }));
  }
}


async function saveRule(ctx: Context, fields: RuleFields, id: string | null): Promise<AlertRule> {
  const { issues, rule } = validateRule(fields);
  if (!issues.length) await checkReferences(ctx.db.prisma, rule, issues);
  if (issues.length) throw new ValidationError('invalid alert rule', issues);
  try {
    const saved = id ? await ctx.db.prisma.alertRule.update({ where: { id }, data: rule }) : await ctx.db.prisma.alertRule.create({ data: rule });
    void ctx.events.publish('alertConfigChanged', { kind: 'rules' });
    ctx.log.info({ ruleId: saved.id, by: ctx.auth?.name }, id ? 'alert rule updated' : 'alert rule created');
    return saved;
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError(`an alert rule named "${rule.name}" exists`, 'name');
    throw e;
  }
}

builder.queryFields((t) => ({
  alertRules: t.field({
    type: [AlertRuleRef],
    description: 'Every rule, built-in ones first, then by name.',
    resolve: (_r, _a, ctx) => ctx.db.prisma.alertRule.findMany({ orderBy: [{ builtin: 'desc' }, { name: 'asc' }] }),
  }),
  alertRule: t.field({
    type: AlertRuleRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.db.prisma.alertRule.findUnique({ where: { id: String(id) } }),
  }),
}));

const DEFAULT_RULE: Omit<RuleFields, 'name' | 'metric' | 'comparator'> = {
  threshold: null,
  value: null,
  clearThreshold: null,
  subject: null,
  forSeconds: 0,
  repeatSeconds: null,
  severity: 'WARNING',
  deviceIds: [],
  tags: [],
  channelIds: [],
  enabled: true,
};

const DeletedAlertRule = builder.simpleObject('DeletedAlertRule', { fields: (t) => ({ id: t.id() }) });

builder.mutationFields((t) => ({
  createAlertRule: t.field({
    type: AlertRuleRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ConflictError] },
    args: { input: t.arg({ type: CreateAlertRuleInput, required: true }) },
    resolve: (_r, { input }, ctx) => saveRule(ctx, merge({ ...DEFAULT_RULE, name: input.name, metric: input.metric, comparator: input.comparator }, input), null),
  }),
  updateAlertRule: t.field({
    type: AlertRuleRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ConflictError, NotFoundError] },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateAlertRuleInput, required: true }) },
    resolve: async (_r, { id, input }, ctx) => {
      const current = await ctx.db.prisma.alertRule.findUnique({ where: { id: String(id) } });
      if (!current) throw new NotFoundError('AlertRule', String(id));
      return saveRule(ctx, merge(current, input), current.id);
    },
  }),
  deleteAlertRule: t.field({
    type: DeletedAlertRule,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ConflictError] },
    description: 'Deletes a rule and its alerts. Built-in rules cannot be deleted (they would come back at the next start): disable them.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const rule = await ctx.db.prisma.alertRule.findUnique({ where: { id: String(id) } });
      if (!rule) throw new NotFoundError('AlertRule', String(id));
      if (rule.builtin) throw new ConflictError(`"${rule.name}" is built in: disable it (updateAlertRule enabled: false) instead`, 'builtin');
      await ctx.db.prisma.alertRule.delete({ where: { id: rule.id } });
      void ctx.events.publish('alertConfigChanged', { kind: 'rules' });
      return { id: rule.id };
    },
  }),
}));

/* ---------------------------------------------------------------- Alert */

type AlertShape = Alert & { rule?: AlertRule; device?: { name: string } };

const DeliveryRef = builder.objectRef<{ id: bigint; channelId: string; attempt: number; ok: boolean; error: string | null; at: Date; channel?: { name: string } }>('NotificationDelivery').implement({
  description: 'One attempt to deliver a notification to a channel.',
  fields: (t) => ({
    id: t.id({ resolve: (d) => String(d.id) }),
    channelId: t.exposeID('channelId'),
    channelName: t.string({ nullable: true, resolve: (d) => d.channel?.name ?? null }),
    attempt: t.exposeInt('attempt'),
    ok: t.exposeBoolean('ok'),
    error: t.exposeString('error', { nullable: true }),
    at: t.field({ type: 'DateTime', resolve: (d) => d.at }),
  }),
});

export const AlertRef = builder.objectRef<AlertShape>('Alert').implement({
  description: 'One occurrence of a rule\'s condition on a device (and subject), from PENDING to RESOLVED.',
  fields: (t) => ({
    id: t.exposeID('id'),
    ruleId: t.exposeID('ruleId'),
    rule: t.field({
      type: AlertRuleRef,
      resolve: async (a, _args, ctx) => a.rule ?? (await ctx.db.prisma.alertRule.findUniqueOrThrow({ where: { id: a.ruleId } })),
    }),
    deviceId: t.exposeID('deviceId'),
    deviceName: t.string({
      resolve: async (a, _args, ctx) => a.device?.name ?? (await ctx.db.prisma.device.findUnique({ where: { id: a.deviceId }, select: { name: true } }))?.name ?? a.deviceId,
    }),
    subject: t.exposeString('subject', { description: 'Mount point, drive serial (or path), container name; empty for the device itself.' }),
    state: t.field({ type: AlertStateEnum, resolve: (a) => a.state }),
    severity: t.field({ type: SeverityEnum, resolve: (a) => a.severity }),
    value: t.exposeString('value', { nullable: true, description: 'The value at the last transition or notification.' }),
    message: t.exposeString('message', { nullable: true }),
    pendingSince: t.field({ type: 'DateTime', resolve: (a) => a.pendingSince }),
    firedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.firedAt }),
    resolvedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.resolvedAt }),
    acknowledgedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.acknowledgedAt }),
    acknowledgedBy: t.exposeString('acknowledgedBy', { nullable: true }),
    lastNotifiedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.lastNotifiedAt }),
    deliveries: t.field({
      type: [DeliveryRef],
      description: 'The delivery log: every attempt to every channel, oldest first (at most 200).',
      resolve: (a, _args, ctx) => ctx.db.prisma.notificationDelivery.findMany({ where: { alertId: a.id }, orderBy: [{ at: 'asc' }, { id: 'asc' }], take: 200, include: { channel: { select: { name: true } } } }),
    }),
  }),
});

const encodeCursor = (a: AlertShape) => Buffer.from(JSON.stringify([a.pendingSince.toISOString(), a.id])).toString('base64url');
function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const d = new Date(String(at));
    if (typeof id === 'string' && !Number.isNaN(d.getTime())) return { at: d, id };
  } catch {
    // fall through
  }
  throw new ValidationError('invalid cursor', [{ path: ['after'], message: 'is not a cursor this API returned' }]);
}

const ALERT_PAGE: PageSize = { defaultSize: 50, maxSize: 500 };

builder.queryFields((t) => ({
  alerts: t.connection({
    type: AlertRef,
    description: 'Alerts, newest first. `since`: alerts open at some time since then (still open, or resolved after it).',
    extensions: pagedList(ALERT_PAGE),
    args: {
      state: t.arg({ type: [AlertStateEnum], required: false, description: 'Any of these states.' }),
      deviceId: t.arg.id({ required: false }),
      ruleId: t.arg.id({ required: false }),
      since: t.arg({ type: 'DateTime', required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const where: Prisma.AlertWhereInput = {};
      if (args.state?.length) where.state = { in: [...args.state] };
      if (args.deviceId) where.deviceId = String(args.deviceId);
      if (args.ruleId) where.ruleId = String(args.ruleId);
      if (args.since) where.OR = [{ resolvedAt: null }, { resolvedAt: { gte: args.since } }];
      return resolveCursorConnection<Promise<AlertShape[]>>({ args, toCursor: encodeCursor, ...ALERT_PAGE }, async ({ before, after, limit, inverted }): Promise<AlertShape[]> => {
        const and: Prisma.AlertWhereInput[] = [where];
        for (const [cursor, older] of [
          [after, true],
          [before, false],
        ] as const) {
          if (!cursor) continue;
          const c = decodeCursor(cursor);
          const cmp = older ? 'lt' : 'gt';
          and.push({ OR: [{ pendingSince: { [cmp]: c.at } }, { pendingSince: c.at, id: { [cmp]: c.id } }] });
        }
        const dir = inverted ? 'asc' : 'desc';
        return ctx.db.prisma.alert.findMany({ where: { AND: and }, orderBy: [{ pendingSince: dir }, { id: dir }], take: limit, include: { rule: true, device: { select: { name: true } } } });
      });
    },
  }),
  alert: t.field({
    type: AlertRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.db.prisma.alert.findUnique({ where: { id: String(id) }, include: { rule: true, device: { select: { name: true } } } }),
  }),
}));

builder.mutationField('acknowledgeAlert', (t) =>
  t.field({
    type: AlertRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ConflictError] },
    description: 'Someone is on it: a FIRING alert stops repeating; it still resolves by itself.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const prisma = ctx.db.prisma;
      const at = new Date();
      const { count } = await prisma.alert.updateMany({ where: { id: String(id), state: 'FIRING' }, data: { state: 'ACKNOWLEDGED', acknowledgedAt: at, acknowledgedBy: ctx.auth?.name ?? null } });
      const alert = await prisma.alert.findUnique({ where: { id: String(id) }, include: { rule: true, device: { select: { name: true } } } });
      if (!alert) throw new NotFoundError('Alert', String(id));
      if (count === 0 && alert.state !== 'ACKNOWLEDGED') throw new ConflictError(`the alert is ${alert.state}: only FIRING alerts can be acknowledged`, 'state');
      if (count) void ctx.events.publish('alertChanged', { alertId: alert.id, ruleId: alert.ruleId, deviceId: alert.deviceId, state: 'ACKNOWLEDGED', at: at.toISOString() });
      return alert;
    },
  }),
);

/* ---------------------------------------------------------------- live */

const AlertEventRef = builder.objectRef<AlertEventPayload>('AlertEvent').implement({
  description: 'An alert changed state (PENDING, FIRING, ACKNOWLEDGED, RESOLVED).',
  fields: (t) => ({
    alertId: t.exposeID('alertId'),
    ruleId: t.exposeID('ruleId'),
    deviceId: t.exposeID('deviceId'),
    state: t.field({ type: AlertStateEnum, resolve: (e) => e.state as Alert['state'] }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    alert: t.field({
      type: AlertRef,
      nullable: true,
      description: 'The alert as it is now (null when it was deleted with its rule).',
      resolve: (e, _args, ctx) => ctx.db.prisma.alert.findUnique({ where: { id: e.alertId }, include: { rule: true, device: { select: { name: true } } } }),
    }),
  }),
});

builder.subscriptionField('alertChanged', (t) =>
  t.field({
    type: AlertEventRef,
    description: 'Every alert transition; filtered by device and tags, and with status by the new state.',
    args: { ...scopeArgs(t), status: t.arg({ type: [AlertStateEnum], required: false, description: 'Only transitions to one of these states.' }) },
    subscribe: (_r, args, ctx) => liveEvents(ctx, 'alertChanged', args, args.status ? (e) => (args.status as readonly string[]).includes(e.state) : undefined),
    resolve: (e) => e,
  }),
);
