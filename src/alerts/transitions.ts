/**
 * One alert transition at a time: what `step` (rules.ts) decided becomes a row change, an
 * `alertChanged` event and, unless a silence matches, a notification handed to the notifier.
 * Every transition is persisted before it is announced, guarded by the state it expects, so a
 * second instance or a restart neither fires twice nor forgets.
 */
import { isUniqueViolation, type PrismaClient } from '../db/index.ts';
import type { EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import type { NotificationEvent, NotificationMessage } from './message.ts';
import type { Notifier } from './notifiers.ts';
import { describe, formatValue, step, type Observation, type RuleSpec } from './rules.ts';
import { silencedBy } from './silences.ts';
import { alertKey, type AlertState, type DeviceInfo, type OpenAlert } from './state.ts';

export interface TransitionDeps {
  prisma: PrismaClient;
  events: EventBus;
  notifier: Notifier;
  log: Logger;
  state: AlertState;
}

type Value = number | string | null;

export function createTransitions({ prisma, events, notifier, log, state }: TransitionDeps) {
  function publish(a: { alertId: string; ruleId: string; deviceId: string }, alertState: string, at: Date): void {
    void events.publish('alertChanged', { alertId: a.alertId, ruleId: a.ruleId, deviceId: a.deviceId, state: alertState, at: at.toISOString() });
  }

  function silenced(rule: RuleSpec, dev: DeviceInfo, at: Date): boolean {
    const s = silencedBy(state.silences, { deviceId: dev.id, deviceTags: dev.tags, ruleId: rule.id, severity: rule.severity }, at);
    if (s) log.debug({ ruleId: rule.id, deviceId: dev.id, silenceId: s.id }, 'notification silenced');
    return Boolean(s);
  }

  function message(event: NotificationEvent, rule: RuleSpec, dev: DeviceInfo, a: OpenAlert, alertState: NotificationMessage['state'], value: Value, at: Date, detail?: string): NotificationMessage {
    return {
      event,
      alertId: a.alertId,
      state: alertState,
      severity: rule.severity,
      rule: { id: rule.id, name: rule.name, metric: rule.metric },
      device: { id: dev.id, name: dev.name },
      subject: a.subject,
      value: value === null ? null : formatValue(value),
      message: value === null ? `${rule.name}: resolved` : describe(rule, a.subject, value, detail),
      at: at.toISOString(),
      firedAt: a.track.firedAt === null ? null : new Date(a.track.firedAt).toISOString(),
      resolvedAt: alertState === 'RESOLVED' ? at.toISOString() : null,
    };
  }

  const described = (rule: RuleSpec, subject: string, value: Value, detail?: string) => (value === null ? {} : { value: formatValue(value), message: describe(rule, subject, value, detail) });

  async function resolve(rule: RuleSpec, dev: DeviceInfo, a: OpenAlert, value: Value, at: Date, why?: string, detail?: string): Promise<void> {
    state.open.delete(alertKey(a.ruleId, a.deviceId, a.subject));
    const msg = why ?? (value === null ? 'resolved' : describe(rule, a.subject, value, detail));
    const { count } = await prisma.alert.updateMany({
      where: { id: a.alertId, state: { not: 'RESOLVED' } },
      data: { state: 'RESOLVED', resolvedAt: at, message: msg, ...(value === null ? {} : { value: formatValue(value) }) },
    });
    if (count === 0) return;
    publish(a, 'RESOLVED', at);
    // Only alerts someone was told about get a resolution message.
    if (a.track.firedAt !== null && a.track.lastNotifiedAt !== null && !silenced(rule, dev, at)) {
      notifier.notify(message('resolved', rule, dev, a, 'RESOLVED', value, at, detail), rule.channelIds);
    }
  }

  /** The rule is gone or disabled: resolve without telling anyone. */
  async function closeOrphan(a: OpenAlert, at: Date, why: string): Promise<void> {
    state.open.delete(alertKey(a.ruleId, a.deviceId, a.subject));
    const { count } = await prisma.alert.updateMany({ where: { id: a.alertId, state: { not: 'RESOLVED' } }, data: { state: 'RESOLVED', resolvedAt: at, message: why } });
    if (count) publish(a, 'RESOLVED', at);
  }

  async function open(rule: RuleSpec, dev: DeviceInfo, subject: string, alertState: 'PENDING' | 'FIRING', value: Value, at: Date, detail?: string): Promise<void> {
    const ms = at.getTime();
    const firing = alertState === 'FIRING';
    const willNotify = firing && !silenced(rule, dev, at);
    const a: OpenAlert = { alertId: '', ruleId: rule.id, deviceId: dev.id, subject, track: { state: alertState, pendingSince: ms, firedAt: firing ? ms : null, lastNotifiedAt: willNotify ? ms : null } };
    const k = alertKey(rule.id, dev.id, subject);
    try {
      const row = await prisma.alert.create({
        data: { ruleId: rule.id, deviceId: dev.id, subject, state: alertState, severity: rule.severity, value: null, message: null, ...described(rule, subject, value, detail), pendingSince: at, firedAt: firing ? at : null, lastNotifiedAt: willNotify ? at : null },
      });
      a.alertId = row.id;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      // Another instance (or a reload race) opened it first: adopt that one, never notify twice.
      const existing = await prisma.alert.findFirst({ where: { ruleId: rule.id, deviceId: dev.id, subject, state: { not: 'RESOLVED' } } });
      if (existing && existing.state !== 'RESOLVED') {
        state.open.set(k, { ...a, alertId: existing.id, track: { state: existing.state, pendingSince: existing.pendingSince.getTime(), firedAt: existing.firedAt?.getTime() ?? null, lastNotifiedAt: existing.lastNotifiedAt?.getTime() ?? null } });
      }
      return;
    }
    state.open.set(k, a);
    publish(a, alertState, at);
    if (willNotify) notifier.notify(message('firing', rule, dev, a, 'FIRING', value, at, detail), rule.channelIds);
  }

  async function fire(rule: RuleSpec, dev: DeviceInfo, a: OpenAlert, value: Value, at: Date, detail?: string): Promise<void> {
    const ms = at.getTime();
    const willNotify = !silenced(rule, dev, at);
    a.track = { ...a.track, state: 'FIRING', firedAt: ms, lastNotifiedAt: willNotify ? ms : null };
    const { count } = await prisma.alert.updateMany({
      where: { id: a.alertId, state: 'PENDING' },
      data: { state: 'FIRING', firedAt: at, ...described(rule, a.subject, value, detail), lastNotifiedAt: willNotify ? at : null },
    });
    if (count === 0) return void state.open.delete(alertKey(a.ruleId, a.deviceId, a.subject));
    publish(a, 'FIRING', at);
    if (willNotify) notifier.notify(message('firing', rule, dev, a, 'FIRING', value, at, detail), rule.channelIds);
  }

  /** A repeat, or the first notice of an alert that fired while silenced. */
  async function renotify(rule: RuleSpec, dev: DeviceInfo, a: OpenAlert, value: Value, at: Date, detail?: string): Promise<void> {
    if (silenced(rule, dev, at)) return;
    const row = await prisma.alert.findUnique({ where: { id: a.alertId }, select: { state: true, value: true } });
    if (!row || row.state === 'RESOLVED') return void state.open.delete(alertKey(a.ruleId, a.deviceId, a.subject));
    if (row.state !== 'FIRING') {
      a.track = { ...a.track, state: row.state };
      return;
    }
    const event: NotificationEvent = a.track.lastNotifiedAt === null ? 'firing' : 'repeat';
    a.track = { ...a.track, lastNotifiedAt: at.getTime() };
    await prisma.alert.update({ where: { id: a.alertId }, data: { lastNotifiedAt: at, ...described(rule, a.subject, value, detail) } });
    notifier.notify(message(event, rule, dev, a, 'FIRING', value ?? row.value, at, detail), rule.channelIds);
  }

  /** Applies one observation (or, with none, the passage of time) to the rule's alert on this device and subject. */
  async function apply(rule: RuleSpec, dev: DeviceInfo, obs: Observation | null, at: Date, subject = obs?.subject ?? ''): Promise<void> {
    const current = state.open.get(alertKey(rule.id, dev.id, subject)) ?? null;
    const action = step(rule, current?.track ?? null, obs, at.getTime());
    const value = obs?.value ?? null;
    const detail = obs?.detail;
    if (action.kind === 'none') return;
    if (action.kind === 'open') return open(rule, dev, subject, action.state, value, at, detail);
    if (action.kind === 'resolve') return resolve(rule, dev, current!, value, at, undefined, detail);
    if (action.kind === 'fire') return fire(rule, dev, current!, value, at, detail);
    return renotify(rule, dev, current!, value, at, detail);
  }

  return { apply, resolve, closeOrphan };
}
