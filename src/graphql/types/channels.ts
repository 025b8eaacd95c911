/**
 * Notification channels: CRUD and a test send. The secret (HMAC key, token, SMTP password) is
 * write-only: sealed with the SecretBox at once, only `hasSecret` is ever returned. URLs of
 * chat webhooks are bearer secrets too, so viewers see them redacted.
 */
import { createNotifier } from '../../alerts/notifiers.ts';
import { redact } from '../../alerts/channels/types.ts';
import { secretDestinationChanges, validateChannel, type ChannelFields } from '../../alerts/validate.ts';
import { isUniqueViolation, type NotificationChannel } from '../../db/index.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { AlertRuleRef } from './alerts.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';

export const ChannelKindEnum = builder.enumType('ChannelKind', {
  values: {
    WEBHOOK: { description: 'POST a JSON body; with a secret, X-Infrapulse-Signature: sha256=<HMAC-SHA256 of the body>.' },
    SLACK: { description: 'Slack-compatible incoming webhook: {"text": …}.' },
    DISCORD: { description: 'Discord webhook: {"content": …}.' },
    NTFY: { description: 'POST the text to an ntfy topic URL with Title/Priority/Tags; secret: access token.' },
    GOTIFY: { description: 'POST {title, message, priority} to <url>/message; secret: application token.' },
    EMAIL: { description: 'SMTP (url smtp:// or smtps://); secret: SMTP password.' },
  } as const,
});

const cfg = (c: NotificationChannel) => (c.config && typeof c.config === 'object' && !Array.isArray(c.config) ? (c.config as Record<string, unknown>) : {});
const isOperator = (ctx: Context) => ctx.auth?.role === 'OPERATOR' || ctx.auth?.role === 'ADMIN';

export const NotificationChannelRef = builder.objectRef<NotificationChannel>('NotificationChannel').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.field({ type: ChannelKindEnum, resolve: (c) => c.kind }),
    url: t.string({ description: 'Redacted for VIEWER tokens: chat webhook URLs are credentials.', resolve: (c, _a, ctx) => (isOperator(ctx) ? (c.url ?? '') : redact(c.url ?? '')) }),
    hasSecret: t.boolean({ description: 'Whether a secret is stored; the secret itself is never returned.', resolve: (c) => c.encryptedSecret !== null }),
    enabled: t.exposeBoolean('enabled'),
    emailTo: t.stringList({ resolve: (c) => (Array.isArray(cfg(c).to) ? (cfg(c).to as unknown[]).filter((x): x is string => typeof x === 'string') : []) }),
    emailFrom: t.string({ nullable: true, resolve: (c) => (typeof cfg(c).from === 'string' ? (cfg(c).from as string) : null) }),
    smtpUsername: t.string({ nullable: true, resolve: (c) => (typeof cfg(c).username === 'string' ? (cfg(c).username as string) : null) }),
    requireTls: t.boolean({ resolve: (c) => cfg(c).requireTls === true }),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
  }),
});

const CreateInput = builder.inputType('CreateNotificationChannelInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: ChannelKindEnum, required: true }),
    url: t.string({ required: true, description: 'http(s) URL; EMAIL: smtp://host:port (STARTTLS) or smtps://host:port.' }),
      secret: t.string({ required: false, description: 'Write-only: WEBHOOK HMAC key, NTFY/GOTIFY token, EMAIL SMTP password.' }),
      enabled: t.boolean({ required: false }),
      emailTo: t.stringList({ required: false }),
      emailFrom: t.string({ required: false }),
      smtpUsername: t.string({ required: false }),
      requireTls: t.boolean({ required: false, description: 'EMAIL over smtp://: refuse to send without STARTTLS.' }),
  }),
});

const UpdateInput = builder.inputType('UpdateNotificationChannelInput', {
  description: 'Only the fields given change. secret: a string replaces it, null removes it.',
  fields: (t) => ({
    name: t.string({ required: false }),
    kind: t.field({ type: ChannelKindEnum, required: false }),
    url: t.string({ required: false }),
      secret: t.string({ required: false, description: 'Write-only: WEBHOOK HMAC key, NTFY/GOTIFY token, EMAIL SMTP password.' }),
      enabled: t.boolean({ required: false }),
      emailTo: t.stringList({ required: false }),
      emailFrom: t.string({ required: false }),
      smtpUsername: t.string({ required: false }),
      requireTls: t.boolean({ required: false, description: 'EMAIL over smtp://: refuse to send without STARTTLS.' }),
  }),
});

const ChannelTestResult = builder.simpleObject('ChannelTestResult', {
  fields: (t) => ({
    ok: t.boolean(),
    attempts: t.int(),
    error: t.string({ nullable: true }),
  }),
});

const DeletedNotificationChannel = builder.simpleObject('DeletedNotificationChannel', { fields: (t) => ({ id: t.id() }) });

function fieldsOf(c: NotificationChannel): ChannelFields {
  const config = cfg(c);
  return {
    name: c.name,
    kind: c.kind,
    url: c.url ?? '',
    enabled: c.enabled,
    emailTo: Array.isArray(config.to) ? config.to.filter((x): x is string => typeof x === 'string') : [],
    emailFrom: typeof config.from === 'string' ? config.from : null,
    smtpUsername: typeof config.username === 'string' ? config.username : null,
    requireTls: config.requireTls === true,
  };
}


builder.queryFields((t) => ({
  notificationChannels: t.field({
    type: [NotificationChannelRef],
    resolve: (_r, _a, ctx) => ctx.db.prisma.notificationChannel.findMany({ orderBy: { name: 'asc' } }),
  }),
  notificationChannel: t.field({
    type: NotificationChannelRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.db.prisma.notificationChannel.findUnique({ where: { id: String(id) } }),
  }),
}));

builder.mutationFields((t) => ({
  createNotificationChannel: t.field({
    type: NotificationChannelRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ConflictError] },
    args: { input: t.arg({ type: CreateInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const { issues, channel, config } = validateChannel(
        {
          name: input.name,
          kind: input.kind,
          url: input.url,
          enabled: input.enabled ?? true,
          emailTo: input.emailTo ?? [],
          emailFrom: input.emailFrom ?? null,
          smtpUsername: input.smtpUsername ?? null,
          requireTls: input.requireTls ?? false,
        },
        input.secret,
        { allowPrivateNetworks: ctx.config.notify.allowPrivateNetworks },
      );
      if (issues.length) throw new ValidationError('invalid notification channel', issues);
      try {
        const row = await ctx.db.prisma.notificationChannel.create({
          data: { name: channel.name, kind: channel.kind, url: channel.url, enabled: channel.enabled, config: config as object, encryptedSecret: input.secret ? new Uint8Array(ctx.secrets.encrypt(input.secret)) : null },
        });
        void ctx.events.publish('alertConfigChanged', { kind: 'channels' });
        return row;
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`a notification channel named "${channel.name}" exists`, 'name');
        throw e;
      }
    },
  }),
  updateNotificationChannel: t.field({
    type: NotificationChannelRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ConflictError, NotFoundError] },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInput, required: true }) },
    resolve: async (_r, { id, input }, ctx) => {
      const current = await ctx.db.prisma.notificationChannel.findUnique({ where: { id: String(id) } });
      if (!current) throw new NotFoundError('NotificationChannel', String(id));
      const base = fieldsOf(current);
      const kind = input.kind ?? base.kind;
      const email = kind === 'EMAIL';
      const { issues, channel, config } = validateChannel(
        {
          name: input.name ?? base.name,
          kind,
          url: input.url ?? base.url,
          enabled: input.enabled ?? base.enabled,
          // Switching away from EMAIL drops its settings rather than failing on them.
          emailTo: input.emailTo ?? (email ? base.emailTo : []),
          emailFrom: input.emailFrom === undefined ? (email ? base.emailFrom : null) : input.emailFrom,
          smtpUsername: input.smtpUsername === undefined ? (email ? base.smtpUsername : null) : input.smtpUsername,
          requireTls: input.requireTls ?? (email ? base.requireTls : false),
        },
        input.secret,
        { allowPrivateNetworks: ctx.config.notify.allowPrivateNetworks },
      );
      // An OPERATOR must not aim a secret an ADMIN stored at a destination of their own (as with a device's stored password).
      if (!issues.length && current.encryptedSecret !== null && input.secret === undefined && ctx.auth?.role !== 'ADMIN') {
        issues.push(...secretDestinationChanges(base, channel));
      }
      if (issues.length) throw new ValidationError('invalid notification channel', issues);
      const secret = input.secret === undefined ? {} : { encryptedSecret: input.secret === null ? null : new Uint8Array(ctx.secrets.encrypt(input.secret)) };
      try {
        const row = await ctx.db.prisma.notificationChannel.update({
          where: { id: current.id },
          data: { name: channel.name, kind: channel.kind, url: channel.url, enabled: channel.enabled, config: config as object, ...secret },
        });
        void ctx.events.publish('alertConfigChanged', { kind: 'channels' });
        return row;
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`a notification channel named "${channel.name}" exists`, 'name');
        throw e;
      }
    },
  }),
  deleteNotificationChannel: t.field({
    type: DeletedNotificationChannel,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ConflictError] },
    description: 'Refused while a rule names the channel: a rule left with no channels would notify every channel.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const channel = await ctx.db.prisma.notificationChannel.findUnique({ where: { id: String(id) } });
      if (!channel) throw new NotFoundError('NotificationChannel', String(id));
      const users = await ctx.db.prisma.alertRule.findMany({ where: { channelIds: { has: channel.id } }, select: { name: true } });
      if (users.length) throw new ConflictError(`used by alert rule(s) ${users.map((u) => `"${u.name}"`).join(', ')}: remove it from them first`, 'channelIds');
      await ctx.db.prisma.notificationChannel.delete({ where: { id: channel.id } });
      void ctx.events.publish('alertConfigChanged', { kind: 'channels' });
      return { id: channel.id };
    },
  }),
  testNotificationChannel: t.field({
    type: ChannelTestResult,
    authScopes: { operator: true },
    errors: { types: [NotFoundError] },
    description: 'Sends a test message now (one attempt, even when the channel is disabled) and says how it went.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const notifier = createNotifier({ db: ctx.db, secrets: ctx.secrets, log: ctx.log, attempts: 1, allowPrivateNetworks: ctx.config.notify.allowPrivateNetworks });
      const result = await notifier.test(String(id));
      if (!result) throw new NotFoundError('NotificationChannel', String(id));
      return { ok: result.ok, attempts: result.attempts, error: result.error };
    },
  }),
}));

builder.objectField(AlertRuleRef, 'channels', (t) =>
  t.field({
    type: [NotificationChannelRef],
    description: 'The channels this rule notifies (every enabled channel when channelIds is empty); URLs redacted for VIEWER tokens.',
    resolve: (rule, _args, ctx) =>
      ctx.db.prisma.notificationChannel.findMany({ where: rule.channelIds.length ? { id: { in: rule.channelIds } } : { enabled: true }, orderBy: { name: 'asc' } }),
  }),
);
