/**
 * What the evaluator does with each job: a committed batch, a device status change, a tick
 * (repeats, `forSeconds` on statuses, the periodic reload) and a reload of the cached
 * configuration. Each applies observations to alerts through transitions.ts.
 */
import type { DeviceStatusEvent } from '../events/index.ts';
import type { NamedCheckResult } from '../storage/checks.ts';
import type { SampleBatch } from '../storage/types.ts';
import { inScope, metricFamily, observe, observeChecks, reportedSubjects, RestartHistory, SpinningFans, type MetricFamily, type Observation, type RuleSpec } from './rules.ts';
import { alertKey, type AlertState } from './state.ts';
import type { createTransitions } from './transitions.ts';

export interface EvaluationDeps {
  state: AlertState;
  transitions: ReturnType<typeof createTransitions>;
  now: () => Date;
  /** Rows older than this (a spool replayed after an outage) are not evaluated. */
  staleMs: number;
  /** A tick reloads the configuration when the last reload is older than this. */
  refreshMs: number;
}

function freshOnly(batch: SampleBatch, cutoff: number): SampleBatch {
  const fresh = <R extends { time: Date }>(rows: R[]) => (rows.every((r) => r.time.getTime() >= cutoff) ? rows : rows.filter((r) => r.time.getTime() >= cutoff));
  return {
    system: fresh(batch.system),
    filesystems: fresh(batch.filesystems),
    networks: batch.networks,
    diskIo: batch.diskIo,
    drives: fresh(batch.drives),
    containers: fresh(batch.containers),
    pools: fresh(batch.pools),
    sensors: fresh(batch.sensors),
    gpus: fresh(batch.gpus),
  };
}

/** A rule that names a subject watches only that one. */
const watches = (rule: RuleSpec, obs: Observation): boolean => rule.subject === null || rule.subject === obs.subject;

export function createEvaluations({ state, transitions, now, staleMs, refreshMs }: EvaluationDeps) {
  const { apply, resolve, closeOrphan } = transitions;
  const restarts = new RestartHistory();
  const fans = new SpinningFans();
  let lastRefresh = 0;

  /** Reloads everything; closes alerts whose rule was disabled/deleted or no longer covers the device; re-reads device statuses. */
  async function reload(): Promise<void> {
    await state.loadRules();
    await state.loadBaselines();
    await state.loadChecks();
    const statuses = await state.loadDevices();
    await state.loadSilences(now());
    lastRefresh = Date.now();
    const at = now();
    for (const a of [...state.open.values()]) {
      const rule = state.rulesById.get(a.ruleId);
      const dev = state.devices.get(a.deviceId);
      if (!dev) state.open.delete(alertKey(a.ruleId, a.deviceId, a.subject));
      else if (!rule) await closeOrphan(a, at, 'rule disabled or deleted');
      else if (!inScope(rule, dev)) await resolve(rule, dev, a, null, at, 'device no longer in the rule\'s scope');
      else if (rule.subject !== null && rule.subject !== a.subject) await resolve(rule, dev, a, null, at, `the rule no longer watches ${a.subject}`);
      else if (metricFamily(rule.metric) === 'checks') {
        const check = state.checkOf(rule.metric, a.subject);
        if (!check || !inScope(check, dev)) await resolve(rule, dev, a, null, at, `${a.subject}: the check no longer runs on this device`);
      }
    }
    // A new DEVICE_STATUS rule, or statuses that changed while this instance was down.
    for (const rule of state.rules.filter((r) => r.metric === 'DEVICE_STATUS')) {
      for (const s of statuses) {
        const dev = state.devices.get(s.id);
        if (dev && inScope(rule, dev)) await apply(rule, dev, { deviceId: s.id, subject: '', value: s.status }, at);
      }
    }
  }

  async function evaluateBatch(raw: SampleBatch): Promise<void> {
    const at = now();
    const batch = freshOnly(raw, at.getTime() - staleMs);
    const families = new Set<MetricFamily>();
    for (const rule of state.rules) {
      const family = metricFamily(rule.metric);
      if (family === 'status' || family === 'checks') continue;
      families.add(family);
      for (const obs of observe(rule.metric, batch, restarts, at.getTime(), state.baselines, fans)) {
        if (!watches(rule, obs)) continue;
        const dev = await state.device(obs.deviceId);
        if (dev && inScope(rule, dev)) await apply(rule, dev, obs, at);
      }
    }
    // Alerts on subjects a device stopped reporting (a removed container, an unmounted filesystem) resolve.
    for (const family of families) {
      if (family === 'system') continue;
      const reported = reportedSubjects(family, batch);
      if (reported.size === 0) continue;
      for (const a of [...state.open.values()]) {
        const subjects = reported.get(a.deviceId);
        const rule = state.rulesById.get(a.ruleId);
        if (!subjects || !rule || metricFamily(rule.metric) !== family || subjects.has(a.subject)) continue;
        const dev = await state.device(a.deviceId);
        if (dev) await resolve(rule, dev, a, null, at, `${a.subject} is no longer reported`);
      }
    }
    restarts.prune(at.getTime());
  }

  /** Results of checks just stored by this instance's runner (every run, not only changes). */
  async function evaluateChecks(raw: readonly NamedCheckResult[]): Promise<void> {
    const at = now();
    const rows = raw.filter((r) => r.time.getTime() >= at.getTime() - staleMs);
    for (const rule of state.rules) {
      if (metricFamily(rule.metric) !== 'checks') continue;
      for (const obs of observeChecks(rule.metric, rows)) {
        const dev = watches(rule, obs) ? await state.device(obs.deviceId) : null;
        if (dev && inScope(rule, dev)) await apply(rule, dev, obs, at);
      }
    }
    // A value the check no longer prints resolves; a result without values (a TIMEOUT) says nothing about them.
    for (const r of rows) {
      if (Object.keys(r.values).length === 0) continue;
      for (const a of [...state.open.values()]) {
        const rule = state.rulesById.get(a.ruleId);
        if (rule?.metric !== 'CHECK_VALUE' || a.deviceId !== r.deviceId || state.checkOf(rule.metric, a.subject)?.name !== r.checkName) continue;
        if (a.subject.slice(r.checkName.length + 1) in r.values) continue;
        const dev = await state.device(a.deviceId);
        if (dev) await resolve(rule, dev, a, null, at, `${a.subject} is no longer reported`);
      }
    }
  }

  async function evaluateStatus(evt: DeviceStatusEvent): Promise<void> {
    const at = now();
    const dev = await state.device(evt.deviceId);
    if (!dev) return;
    for (const rule of state.rules) {
      if (rule.metric === 'DEVICE_STATUS' && inScope(rule, dev)) await apply(rule, dev, { deviceId: dev.id, subject: '', value: evt.current }, at);
    }
  }

  async function evaluateTick(): Promise<void> {
    if (Date.now() - lastRefresh >= refreshMs) await reload();
    const at = now();
    for (const a of [...state.open.values()]) {
      const rule = state.rulesById.get(a.ruleId);
      if (!rule) continue;
      // Samples must confirm a pending sample metric; a device status holds until it changes.
      if (a.track.state === 'PENDING' && rule.metric !== 'DEVICE_STATUS') continue;
      const dev = await state.device(a.deviceId);
      if (dev) await apply(rule, dev, null, at, a.subject);
    }
  }

  return { reload, evaluateBatch, evaluateChecks, evaluateStatus, evaluateTick };
}
