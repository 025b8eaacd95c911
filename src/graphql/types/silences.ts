/**
 * Silences (maintenance windows): matchers, a start and an end that must come. They mute
 * notifications of matching alerts; the alerts still change state.
 */
import { isActive, parseMatchers, type SilenceMatchers } from '../../alerts/silences.ts';
import { validateSilence, type Issue, type SilenceFields } from '../../alerts/validate.ts';
import type { PrismaClient, Silence } from '../../db/index.ts';
import { builder } from '../builder.ts';
import { SeverityEnum } from './alerts.ts';
import { NotFoundError, ValidationError } from './errors.ts';

const MatchersRef = builder.objectRef<SilenceMatchers>('SilenceMatchers').implement({
  description: 'Every list given must match: the device is listed, has one of the tags, the rule is listed, the severity is listed.',
  fields: (t) => ({
    deviceIds: t.idList({ resolve: (m) => m.deviceIds ?? [] }),
    tags: t.stringList({ resolve: (m) => m.tags ?? [] }),
    ruleIds: t.idList({ resolve: (m) => m.ruleIds ?? [] }),
    severities: t.field({ type: [SeverityEnum], resolve: (m) => m.severities ?? [] }),
  }),
});

export const SilenceRef = builder.objectRef<Silence>('Silence').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    matchers: t.field({ type: MatchersRef, resolve: (s) => parseMatchers(s.matchers) }),
    startsAt: t.field({ type: 'DateTime', resolve: (s) => s.startsAt }),
    endsAt: t.field({ type: 'DateTime', resolve: (s) => s.endsAt }),
    active: t.boolean({ resolve: (s) => isActive(s, new Date()) }),
    comment: t.exposeString('comment'),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
  }),
});

const MatchersInput = builder.inputType('SilenceMatchersInput', {
  fields: (t) => ({
    deviceIds: t.idList({ required: false }),
    tags: t.stringList({ required: false }),
    ruleIds: t.idList({ required: false }),
    severities: t.field({ type: [SeverityEnum], required: false }),
  }),
});

const CreateSilenceInput = builder.inputType('CreateSilenceInput', {
  fields: (t) => ({
    matchers: t.field({ type: MatchersInput, required: true }),
    startsAt: t.field({ type: 'DateTime', required: false, description: 'Default: now.' }),
    endsAt: t.field({ type: 'DateTime', required: true, description: 'Required: every silence expires (at most 366 days).' }),
    comment: t.string({ required: false }),
  }),
});

const UpdateSilenceInput = builder.inputType('UpdateSilenceInput', {
  description: 'Only the fields given change; to end a silence early, set endsAt to a near time or delete it.',
  fields: (t) => ({
    matchers: t.field({ type: MatchersInput, required: false }),
    startsAt: t.field({ type: 'DateTime', required: false }),
    endsAt: t.field({ type: 'DateTime', required: false }),
    comment: t.string({ required: false }),
  }),
});

const DeletedSilence = builder.simpleObject('DeletedSilence', { fields: (t) => ({ id: t.id() }) });

interface MatchersArg {
  deviceIds?: readonly (string | number)[] | null;
  tags?: readonly string[] | null;
  ruleIds?: readonly (string | number)[] | null;
  severities?: readonly SilenceFields['severities'][number][] | null;
}

async function checkReferences(prisma: PrismaClient, s: SilenceFields, issues: Issue[]): Promise<void> {
  if (s.ruleIds.length) {
    const found = new Set((await prisma.alertRule.findMany({ where: { id: { in: s.ruleIds } }, select: { id: true } })).map((r) => r.id));
    s.ruleIds.forEach((id, i) => found.has(id) || issues.push({ path: ['input', 'matchers', 'ruleIds', String(i)], message: `no alert rule ${id}` }));
  }
  if (s.deviceIds.length) {
    const found = new Set((await prisma.device.findMany({ where: { id: { in: s.deviceIds } }, select: { id: true } })).map((d) => d.id));
    s.deviceIds.forEach((id, i) => found.has(id) || issues.push({ path: ['input', 'matchers', 'deviceIds', String(i)], message: `no device ${id}` }));
  }
}

function toStored(s: SilenceFields): SilenceMatchers {
  const m: SilenceMatchers = {};
  if (s.deviceIds.length) m.deviceIds = s.deviceIds;
  if (s.tags.length) m.tags = s.tags;
  if (s.ruleIds.length) m.ruleIds = s.ruleIds;
  if (s.severities.length) m.severities = s.severities;
  return m;
}

function fromMatchers(m: MatchersArg): Pick<SilenceFields, 'deviceIds' | 'tags' | 'ruleIds' | 'severities'> {
  return { deviceIds: (m.deviceIds ?? []).map(String), tags: [...(m.tags ?? [])], ruleIds: (m.ruleIds ?? []).map(String), severities: [...(m.severities ?? [])] };
}

builder.queryFields((t) => ({
  silences: t.field({
    type: [SilenceRef],
    description: 'Silences, latest end first. active: true → in force now; false → expired or not started; omitted → all.',
    args: { active: t.arg.boolean({ required: false }) },
    resolve: async (_r, { active }, ctx) => {
      const rows = await ctx.db.prisma.silence.findMany({ orderBy: { endsAt: 'desc' }, take: 1000 });
      const now = new Date();
      return typeof active === 'boolean' ? rows.filter((s) => isActive(s, now) === active) : rows;
    },
  }),
}));

builder.mutationFields((t) => ({
  createSilence: t.field({
    type: SilenceRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError] },
    args: { input: t.arg({ type: CreateSilenceInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const now = new Date();
      const { issues, silence } = validateSilence({ ...fromMatchers(input.matchers), startsAt: input.startsAt ?? now, endsAt: input.endsAt, comment: input.comment ?? '' }, now);
      if (!issues.length) await checkReferences(ctx.db.prisma, silence, issues);
      if (issues.length) throw new ValidationError('invalid silence', issues);
      const row = await ctx.db.prisma.silence.create({
        data: { matchers: toStored(silence) as object, startsAt: silence.startsAt, endsAt: silence.endsAt, comment: silence.comment, createdBy: ctx.auth?.name ?? null },
      });
      void ctx.events.publish('alertConfigChanged', { kind: 'silences' });
      return row;
    },
  }),
  updateSilence: t.field({
    type: SilenceRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateSilenceInput, required: true }) },
    resolve: async (_r, { id, input }, ctx) => {
      const current = await ctx.db.prisma.silence.findUnique({ where: { id: String(id) } });
      if (!current) throw new NotFoundError('Silence', String(id));
      const now = new Date();
      const matchers = input.matchers ? fromMatchers(input.matchers) : fromMatchers(parseMatchers(current.matchers));
      const { issues, silence } = validateSilence({ ...matchers, startsAt: input.startsAt ?? current.startsAt, endsAt: input.endsAt ?? current.endsAt, comment: input.comment ?? current.comment }, now);
      if (!issues.length) await checkReferences(ctx.db.prisma, silence, issues);
      if (issues.length) throw new ValidationError('invalid silence', issues);
      const row = await ctx.db.prisma.silence.update({
        where: { id: current.id },
        data: { matchers: toStored(silence) as object, startsAt: silence.startsAt, endsAt: silence.endsAt, comment: silence.comment },
      });
      void ctx.events.publish('alertConfigChanged', { kind: 'silences' });
      return row;
    },
  }),
  deleteSilence: t.field({
    type: DeletedSilence,
    authScopes: { operator: true },
    errors: { types: [NotFoundError] },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const { count } = await ctx.db.prisma.silence.deleteMany({ where: { id: String(id) } });
      if (!count) throw new NotFoundError('Silence', String(id));
      void ctx.events.publish('alertConfigChanged', { kind: 'silences' });
      return { id: String(id) };
    },
  }),
}));
