/**
 * Checks (issue #18, docs/checks.md): commands an ADMIN defines, run by the poller on the
 * devices in each check's scope (src/poller/checks.ts). Creating, changing and deleting one is
 * ADMIN only, since it runs commands on hosts; anyone may read checks and their results.
 * A check's command is shown to OPERATOR and ADMIN tokens only (it may carry a secret).
 */
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { inScope } from '../../alerts/rules.ts';
import { checkIds } from '../../alerts/validate.ts';
import { BUILTIN_CHECKS, BUILTIN_DEFAULTS, builtinCommand, builtinIssues, type BuiltinCheck, type BuiltinCheckKind } from '../../collectors/builtin-checks.ts';
import { CHECK_KINDS, CHECK_LIMITS, CHECK_STATUSES, parseJsonPath, type CheckKind, type CheckStatus } from '../../collectors/checks.ts';
import { Prisma } from '../../db/generated/client.ts';
import { isUniqueViolation, type Check, type Device as DeviceRow } from '../../db/index.ts';
import type { CheckResultEvent } from '../../events/index.ts';
import { checkResultHistory, latestCheckResults, type CheckResultRow } from '../../storage/checks.ts';
import { limitedList } from '../../security/cost.ts';
import { builder } from '../builder.ts';
import { perRequest, RequestKey, type Context } from '../context.ts';
import { DeviceRef } from './devices.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { liveEvents, scopeArgs } from './live.ts';
import { checkName, checkTags, isValidHostname, Issues } from './validation.ts';

/* ---------------------------------------------------------------- types */

export const CheckKindEnum = builder.enumType('CheckKind', {
  values: {
    EXIT_CODE: { description: 'Monitoring-Plugins convention: exit 0 OK, 1 WARNING, 2 CRITICAL, anything else UNKNOWN; first line the message, perfdata after | the values.' },
    PROMETHEUS: { description: 'The output is Prometheus text exposition; values keyed name{label="value",…}; the exit code gives the status.' },
    JSON: { description: 'The output is one JSON document; values at jsonPaths (every number when none); the exit code gives the status.' },
  } satisfies Record<CheckKind, { description: string }>,
});

export const CheckStatusEnum = builder.enumType('CheckStatus', {
  values: {
    OK: { description: 'Exit code 0.' },
    WARNING: { description: 'Exit code 1.' },
    CRITICAL: { description: 'Exit code 2.' },
    UNKNOWN: { description: 'Any other exit code, output that could not be read, or output past 64 KB (message starts with TRUNCATED).' },
    TIMEOUT: { description: 'The command ran past the check\'s timeout and was killed.' },
  } satisfies Record<CheckStatus, { description: string }>,
});

export const BuiltinCheckKindEnum = builder.enumType('BuiltinCheckKind', {
  description: 'Built-in checks (docs/checks.md): templates whose command infrapulse writes; they run only on the devices or tags they are scoped to.',
  values: {
    FAILED_UNITS: { description: 'systemctl list-units --state=failed: CRITICAL naming the failed units; value `failed`.' },
    UNIT_ACTIVE: { description: 'systemctl is-active <unit>: active OK, activating/reloading WARNING, inactive/failed CRITICAL.' },
    REBOOT_REQUIRED: { description: '/var/run/reboot-required, or needs-restarting -r where present: WARNING.' },
    CERT_EXPIRY: { description: `A certificate file, or what host:port serves (host default ${BUILTIN_DEFAULTS.host}): value \`days_left\`; WARNING below warnDays (${BUILTIN_DEFAULTS.warnDays}), CRITICAL below critDays (${BUILTIN_DEFAULTS.critDays}).` },
  } satisfies Record<BuiltinCheckKind, { description: string }>,
});

const BuiltinCheckRef = builder.objectRef<BuiltinCheck>('BuiltinCheck').implement({
  description: 'The template a built-in check\'s command was built from, and its parameters.',
  fields: (t) => ({
    kind: t.field({ type: BuiltinCheckKindEnum, resolve: (b) => b.kind }),
    unit: t.exposeString('unit', { nullable: true }),
    file: t.exposeString('file', { nullable: true }),
    host: t.exposeString('host', { nullable: true }),
    port: t.exposeInt('port', { nullable: true }),
    warnDays: t.exposeInt('warnDays', { nullable: true }),
    critDays: t.exposeInt('critDays', { nullable: true }),
  }),
});

const BuiltinCheckInput = builder.inputType('BuiltinCheckInput', {
  description: 'A built-in check instead of a command: the command is written from the template; parameters are checked against strict patterns.',
  fields: (t) => ({
    kind: t.field({ type: BuiltinCheckKindEnum, required: true }),
    unit: t.string({ required: false, description: 'UNIT_ACTIVE: a systemd unit name, e.g. nginx.service.' }),
    file: t.string({ required: false, description: 'CERT_EXPIRY: an absolute path to a PEM certificate on the host.' }),
    host: t.string({ required: false, description: `CERT_EXPIRY with port: the name to connect to and to send as SNI (default ${BUILTIN_DEFAULTS.host}).` }),
    port: t.int({ required: false, description: 'CERT_EXPIRY: a TLS port on the host, instead of file.' }),
    warnDays: t.int({ required: false, description: `CERT_EXPIRY: default ${BUILTIN_DEFAULTS.warnDays}.` }),
    critDays: t.int({ required: false, description: `CERT_EXPIRY: default ${BUILTIN_DEFAULTS.critDays}.` }),
  }),
});

const asCheckStatus = (v: string): CheckStatus => ((CHECK_STATUSES as readonly string[]).includes(v) ? (v as CheckStatus) : 'UNKNOWN');
const seesCommands = (ctx: Context): boolean => ctx.auth?.role === 'OPERATOR' || ctx.auth?.role === 'ADMIN';

export const CheckRef = builder.loadableObjectRef('Check', {
  loaderOptions: { cache: false },
  load: (ids: string[], ctx: Context) => ctx.db.prisma.check.findMany({ where: { id: { in: [...new Set(ids)] } } }),
  sort: (c) => c.id,
});

CheckRef.implement({
  description: 'A command run on the devices in scope every intervalSeconds (docs/checks.md).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    command: t.string({ nullable: true, description: 'Run verbatim by the login shell; null for VIEWER tokens (a command may carry a secret).', resolve: (c, _a, ctx) => (seesCommands(ctx) ? c.command : null) }),
    kind: t.field({ type: CheckKindEnum, resolve: (c) => c.kind }),
    intervalSeconds: t.exposeInt('intervalSeconds'),
    timeoutSeconds: t.exposeInt('timeoutSeconds', { description: 'Past it the command is killed and the result is TIMEOUT.' }),
    deviceIds: t.exposeIDList('deviceIds', { description: 'Scope: these devices (or any device with one of `tags`); neither given: every device.' }),
    tags: t.exposeStringList('tags'),
    jsonPaths: t.exposeStringList('jsonPaths', { description: 'JSON kind: where the values are (a.b[0].c); empty: every number in the document.' }),
    builtin: t.field({ type: BuiltinCheckRef, nullable: true, description: 'Built-in checks: the template the command was written from; null for a command an ADMIN wrote.', resolve: (c) => c.builtin as BuiltinCheck | null }),
    enabled: t.exposeBoolean('enabled'),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (c) => c.updatedAt }),
  }),
});

type ResultShape = Omit<CheckResultRow, 'time' | 'status'> & { time: Date | string; status: string; previous?: string | null };

const CheckResultRef = builder.objectRef<ResultShape>('CheckResult').implement({
  description: 'One run of a check on a device.',
  fields: (t) => ({
    check: t.field({ type: CheckRef, nullable: true, description: 'Null once the check is deleted.', resolve: (r, _a, ctx) => CheckRef.getDataloader(ctx).load(r.checkId) }),
    checkId: t.exposeID('checkId'),
    deviceId: t.exposeID('deviceId'),
    device: t.field({ type: DeviceRef, nullable: true, resolve: (r, _a, ctx) => DeviceRef.getDataloader(ctx).load(r.deviceId) }),
    status: t.field({ type: CheckStatusEnum, resolve: (r) => asCheckStatus(r.status) }),
    previousStatus: t.field({ type: CheckStatusEnum, nullable: true, description: 'checkResultChanged: the status before this one (null for a first result); null elsewhere.', resolve: (r) => (r.previous ? asCheckStatus(r.previous) : null) }),
    exitCode: t.exposeInt('exitCode', { nullable: true, description: 'Null when the command did not finish (TIMEOUT, TRUNCATED) or was killed by a signal.' }),
    message: t.exposeString('message'),
    values: t.field({ type: 'JSON', description: 'Name → number: perfdata labels, Prometheus series, JSON paths.', resolve: (r) => r.values }),
    time: t.field({ type: 'DateTime', description: 'When the run started.', resolve: (r) => r.time }),
  }),
});

/* ---------------------------------------------------------------- Device.checks */

/** Per request: a device list's latest results in one query (the checks table is small and read once per batch). */
const LATEST = new RequestKey<DataLoader<DeviceRow, CheckResultRow[]>>('latest check results');

function latestLoader(ctx: Context): DataLoader<DeviceRow, CheckResultRow[]> {
  return perRequest(
    ctx,
    LATEST,
    () =>
      new DataLoader<DeviceRow, CheckResultRow[]>(
        async (devices) => {
          const checks = await ctx.db.prisma.check.findMany({ where: { enabled: true }, orderBy: { name: 'asc' } });
          const rows = await latestCheckResults(ctx.db.prisma, [...new Set(devices.map((d) => d.id))], checks.map((c) => c.id));
          return devices.map((d) => {
            const mine = checks.filter((c) => inScope(c, d));
            return mine.flatMap((c) => rows.find((r) => r.deviceId === d.id && r.checkId === c.id) ?? []);
          });
        },
        { cache: false },
      ),
  );
}

builder.objectField(DeviceRef, 'checks', (t) =>
  t.field({
    type: [CheckResultRef],
    description: 'The latest result of each enabled check in scope of the device, by check name; a check that has not run here yet is absent.',
    resolve: (device: DeviceRow, _a, ctx) => latestLoader(ctx).load(device),
  }),
);

/* ---------------------------------------------------------------- queries */

const HISTORY_MAX = 10_000;

builder.queryFields((t) => ({
  checks: t.field({ type: [CheckRef], resolve: (_r, _a, ctx) => ctx.db.prisma.check.findMany({ orderBy: { name: 'asc' } }) }),
  check: t.field({ type: CheckRef, nullable: true, args: { id: t.arg.id({ required: true }) }, resolve: (_r, { id }, ctx) => ctx.db.prisma.check.findUnique({ where: { id: String(id) } }) }),
  checkHistory: t.field({
    type: [CheckResultRef],
    description: `Results of a check on a device from \`from\` until \`to\` (default now), newest first, at most \`limit\` (default 1000, at most ${HISTORY_MAX}).`,
    extensions: limitedList(HISTORY_MAX),
    args: {
      checkId: t.arg.id({ required: true }),
      deviceId: t.arg.id({ required: true }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: false }),
      limit: t.arg.int({ required: false, defaultValue: 1000 }),
    },
    resolve: (_r, args, ctx) => {
      const to = args.to ?? new Date();
      const limit = args.limit ?? 1000;
      // As metricHistory: a bad range is the caller's mistake, not a result.
      const bad = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
      if (to.getTime() <= args.from.getTime()) throw bad('from must be before to');
      if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_MAX) throw bad(`limit must be 1 to ${HISTORY_MAX}`);
      return checkResultHistory(ctx.db.prisma, { checkId: String(args.checkId), deviceId: String(args.deviceId), from: args.from, to, limit });
    },
  }),
}));

/* ---------------------------------------------------------------- mutations */

interface CheckFields {
  name: string;
  command: string;
  kind: CheckKind;
  intervalSeconds: number;
  timeoutSeconds: number;
  deviceIds: string[];
  tags: string[];
  jsonPaths: string[];
  enabled: boolean;
  builtin: BuiltinCheck | null;
}

const whole = (issues: Issues, path: string[], v: number, min: number, max: number): void => {
  if (!Number.isInteger(v) || v < min || v > max) issues.add(path, `must be a whole number from ${min} to ${max}`);
};

/**
 * A built-in check: its command is (re)written from the template; it runs only where scoped.
 * `typed`: the input also gave a command.
 */
function fromTemplate(issues: Issues, c: CheckFields, typed: boolean): CheckFields {
  const b = c.builtin!;
  const found = builtinIssues(b, ['input', 'builtin'], isValidHostname);
  for (const i of found) issues.add(i.path, i.message);
  if (typed) issues.add(['input', 'command'], 'give a command or builtin, not both');
  if (c.kind !== 'EXIT_CODE') issues.add(['input', 'kind'], 'built-in checks are EXIT_CODE checks');
  if (c.deviceIds.length === 0 && c.tags.length === 0) issues.add(['input', 'deviceIds'], 'a built-in check runs only where enabled: give deviceIds or tags');
  return found.length === 0 ? { ...c, command: builtinCommand(b) } : c;
}

/** A whole check (create, or an update merged over the stored one). A command given is kept exactly as given. */
function validateCheck(given: CheckFields, typed = false): CheckFields {
  const issues = new Issues();
  const at = (field: string) => ['input', field];
  const c = given.builtin ? fromTemplate(issues, given, typed) : given;
  const name = checkName(issues, at('name'), c.name);
  // A template's own problems are said under builtin.
  if (!given.builtin && c.command.trim() === '') issues.add(at('command'), 'must not be empty (or give builtin)');
  else if (c.command.length > CHECK_LIMITS.commandMax) issues.add(at('command'), `must be at most ${CHECK_LIMITS.commandMax} characters`);
  else if (c.command.includes('\0')) issues.add(at('command'), 'must not contain NUL');
  whole(issues, at('intervalSeconds'), c.intervalSeconds, CHECK_LIMITS.intervalMin, CHECK_LIMITS.intervalMax);
  whole(issues, at('timeoutSeconds'), c.timeoutSeconds, CHECK_LIMITS.timeoutMin, Math.min(CHECK_LIMITS.timeoutMax, Math.max(CHECK_LIMITS.timeoutMin, c.intervalSeconds)));
  if (c.kind !== 'JSON' && c.jsonPaths.length > 0) issues.add(at('jsonPaths'), 'only JSON checks have paths');
  if (c.jsonPaths.length > CHECK_LIMITS.jsonPathsMax) issues.add(at('jsonPaths'), `at most ${CHECK_LIMITS.jsonPathsMax} paths`);
  c.jsonPaths.forEach((p, i) => {
    if (p.length > CHECK_LIMITS.jsonPathMax || !parseJsonPath(p)) issues.add([...at('jsonPaths'), String(i)], 'must be a path such as backup.age_seconds or disks[0].temp');
  });
  const deviceIds = checkIds(issues.list, at('deviceIds'), c.deviceIds);
  const tags = checkTags(issues, at('tags'), c.tags);
  if (!issues.ok) throw new ValidationError('invalid check', issues.list);
  return { ...c, name, deviceIds, tags, jsonPaths: [...new Set(c.jsonPaths)] };
}

const inputFields = (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0], required: boolean) => ({
  name: t.string({ required }),
  command: t.string({ required: false, description: `Run verbatim by the device's login shell (at most ${CHECK_LIMITS.commandMax} characters); nothing is ever added to it. Required unless builtin is given.` }),
  builtin: t.field({ type: BuiltinCheckInput, required: false, description: 'A built-in check instead of a command (off until scoped: give deviceIds or tags). Giving a command later makes it an ordinary check.' }),
  kind: t.field({ type: CheckKindEnum, required: false, description: 'Default EXIT_CODE.' }),
  intervalSeconds: t.int({ required: false, description: `${CHECK_LIMITS.intervalMin} to ${CHECK_LIMITS.intervalMax}; default ${CHECK_LIMITS.intervalDefault}.` }),
  timeoutSeconds: t.int({ required: false, description: `${CHECK_LIMITS.timeoutMin} to ${CHECK_LIMITS.timeoutMax} and at most intervalSeconds; default ${CHECK_LIMITS.timeoutDefault}.` }),
  deviceIds: t.idList({ required: false }),
  tags: t.stringList({ required: false }),
  jsonPaths: t.stringList({ required: false, description: 'JSON kind only.' }),
  enabled: t.boolean({ required: false }),
});

const CreateCheckInput = builder.inputType('CreateCheckInput', { fields: (t) => inputFields(t, true) });
const UpdateCheckInput = builder.inputType('UpdateCheckInput', { description: 'Only the fields given change.', fields: (t) => inputFields(t, false) });

type CheckInput = { [K in keyof CheckFields]?: (K extends 'deviceIds' ? readonly (string | number)[] : CheckFields[K] extends string[] ? readonly string[] : CheckFields[K]) | null };

/** Only the parameters given, as stored in checks.builtin. */
const templateOf = (b: BuiltinCheck): BuiltinCheck => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== null && v !== undefined)) as unknown as BuiltinCheck;

function merge(base: CheckFields, input: CheckInput): CheckFields {
  const keep = <T>(v: T | null | undefined, old: T): T => (v === undefined || v === null ? old : v);
  return {
    name: keep(input.name, base.name),
    command: keep(input.command, base.command),
    kind: keep(input.kind, base.kind),
    intervalSeconds: keep(input.intervalSeconds, base.intervalSeconds),
    timeoutSeconds: keep(input.timeoutSeconds, base.timeoutSeconds),
    deviceIds: input.deviceIds ? input.deviceIds.map(String) : base.deviceIds,
    tags: input.tags ? [...input.tags] : base.tags,
    // Switching to another kind drops the paths rather than failing on them.
    jsonPaths: input.jsonPaths ? [...input.jsonPaths] : input.kind && input.kind !== 'JSON' ? [] : base.jsonPaths,
    enabled: keep(input.enabled, base.enabled),
    // A command given makes a built-in check an ordinary one.
    builtin: input.builtin ? templateOf(input.builtin) : input.command ? null : base.builtin,
  };
}

const DEFAULTS: CheckFields = { name: '', command: '', kind: CHECK_KINDS[0]!, intervalSeconds: CHECK_LIMITS.intervalDefault, timeoutSeconds: CHECK_LIMITS.timeoutDefault, deviceIds: [], tags: [], jsonPaths: [], enabled: true, builtin: null };

const fieldsOf = (c: Check): CheckFields => ({ ...c, builtin: c.builtin as BuiltinCheck | null });
const typedBoth = (input: CheckInput): boolean => Boolean(input.builtin && input.command);

/** Stores a validated check; a taken name is a ConflictError. The poller runs it at once (`soon`). */
async function save(ctx: Context, fields: CheckFields, id?: string): Promise<Check> {
  try {
    const data = { ...fields, builtin: fields.builtin ? { ...fields.builtin } : Prisma.DbNull };
    const row = id ? await ctx.db.prisma.check.update({ where: { id }, data }) : await ctx.db.prisma.check.create({ data });
    ctx.log.info({ checkId: row.id, name: row.name, kind: row.kind, by: ctx.auth?.tokenId }, id ? 'check updated' : 'check created');
    void ctx.events.publish('checksChanged', { checkId: row.id, soon: row.enabled });
    return row;
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError(`a check named "${fields.name}" exists`, 'name');
    throw e;
  }
}

const DeletedCheck = builder.simpleObject('DeletedCheck', { fields: (t) => ({ id: t.id() }) });

builder.mutationFields((t) => ({
  createCheck: t.field({
    type: CheckRef,
    authScopes: { admin: true },
    errors: { types: [ValidationError, ConflictError] },
    description: 'ADMIN only: a check runs its command on every device in scope.',
    args: { input: t.arg({ type: CreateCheckInput, required: true }) },
    resolve: (_r, { input }, ctx) => save(ctx, validateCheck(merge(DEFAULTS, input), typedBoth(input))),
  }),
  updateCheck: t.field({
    type: CheckRef,
    authScopes: { admin: true },
    errors: { types: [ValidationError, ConflictError, NotFoundError] },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateCheckInput, required: true }) },
    resolve: async (_r, { id, input }, ctx) => {
      const current = await ctx.db.prisma.check.findUnique({ where: { id: String(id) } });
      if (!current) throw new NotFoundError('Check', String(id));
      return save(ctx, validateCheck(merge(fieldsOf(current), input), typedBoth(input)), current.id);
    },
  }),
  deleteCheck: t.field({
    type: DeletedCheck,
    authScopes: { admin: true },
    errors: { types: [NotFoundError] },
    description: 'Its stored results stay until retention removes them, no longer listed.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const { count } = await ctx.db.prisma.check.deleteMany({ where: { id: String(id) } });
      if (count === 0) throw new NotFoundError('Check', String(id));
      ctx.log.info({ checkId: String(id), by: ctx.auth?.tokenId }, 'check deleted');
      void ctx.events.publish('checksChanged', { checkId: String(id), soon: false });
      return { id: String(id) };
    },
  }),
}));

/* ---------------------------------------------------------------- subscription */

const fromEvent = (e: CheckResultEvent): ResultShape => ({ ...e });

builder.subscriptionField('checkResultChanged', (t) =>
  t.field({
    type: CheckResultRef,
    description: 'A check\'s result on a device changed status (or the check gave its first result there); filtered by device and tags, and by check.',
    args: { ...scopeArgs(t), checkId: t.arg.id({ required: false, description: 'Only this check.' }) },
    subscribe: (_r, args, ctx) => liveEvents(ctx, 'checkResultChanged', args, args.checkId ? (e) => e.checkId === String(args.checkId) : undefined),
    resolve: fromEvent,
  }),
);
