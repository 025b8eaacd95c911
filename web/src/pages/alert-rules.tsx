/** Alert rules: the list, a form to create or edit one, and enable switches (OPERATOR). */
import { useEffect, useState } from 'preact/hooks';
import {
  ALERT_METRICS,
  COMPARATORS,
  CREATE_RULE,
  RULES,
  STATE_METRICS,
  STATE_VALUES,
  UPDATE_RULE,
  type AlertMetric,
  type AlertRule,
  type Comparator,
  type CreateRuleResult,
  type RuleInput,
  type RulesResult,
  type Severity,
  type UpdateRuleResult,
} from '../api/documents.ts';
import { Notice, errorText, isApiError } from '../components/common.tsx';
import { useSession } from '../session.ts';

const SYMBOL: Record<Comparator, string> = { GT: '>', GTE: '≥', LT: '<', LTE: '≤', EQ: '=', NEQ: '≠' };

const condition = (r: AlertRule) => `${r.metric} ${SYMBOL[r.comparator]} ${STATE_METRICS.has(r.metric) ? (r.value ?? '') : (r.threshold ?? '')}${r.forSeconds ? ` for ${r.forSeconds} s` : ''}`;

export function Rules() {
  const { api, canEdit } = useSession();
  const [rules, setRules] = useState<AlertRule[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<AlertRule | 'new' | null>(null);

  const load = () =>
    api.query<RulesResult>(RULES).then(
      (r) => setRules(r.alertRules),
      (e: Error) => setError(e.message),
    );
  useEffect(() => void load(), []);

  async function setEnabled(rule: AlertRule, enabled: boolean) {
    try {
      const r = (await api.mutate<UpdateRuleResult>(UPDATE_RULE, { id: rule.id, input: { enabled } })).updateAlertRule;
      if (isApiError(r)) setError(errorText(r));
      else setRules((list) => list.map((x) => (x.id === r.id ? r : x)));
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <section class="card" aria-label="Alert rules">
      <h2>Rules</h2>
      {error && <Notice kind="error">{error}</Notice>}
      {canEdit && editing === null && (
        <button type="button" onClick={() => setEditing('new')}>
          New rule…
        </button>
      )}
      {editing !== null && (
        <RuleForm
          rule={editing === 'new' ? null : editing}
          onDone={() => {
            setEditing(null);
            void load();
          }}
        />
      )}
      <table>
        <thead>
          <tr>
            <th>Enabled</th>
            <th>Name</th>
            <th>Condition</th>
            <th>Severity</th>
            <th>Scope</th>
            {canEdit && <th />}
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.id}>
              <td>
                {canEdit ? (
                  <input type="checkbox" aria-label={`Enable ${r.name}`} checked={r.enabled} onChange={(e) => setEnabled(r, e.currentTarget.checked)} />
                ) : r.enabled ? (
                  'yes'
                ) : (
                  'no'
                )}
              </td>
              <td>
                {r.name}
                {r.builtin && <span class="muted"> (built in)</span>}
              </td>
              <td>
                <code>{condition(r)}</code>
              </td>
              <td>
                <span class={`badge sev-${r.severity}`}>{r.severity}</span>
              </td>
              <td class="muted">{r.tags.length ? `tags ${r.tags.join(', ')}` : 'all devices'}</td>
              {canEdit && (
                <td>
                  <button type="button" onClick={() => setEditing(r)}>
                    Edit
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function RuleForm({ rule, onDone }: { rule: AlertRule | null; onDone: () => void }) {
  const { api } = useSession();
  const [metric, setMetric] = useState<AlertMetric>(rule?.metric ?? 'CPU_PERCENT');
  const [error, setError] = useState<string | null>(null);
  const isState = STATE_METRICS.has(metric);

  async function submit(e: Event) {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const s = (k: string) => String(f.get(k) ?? '').trim();
    const input: RuleInput = {
      name: s('name'),
      metric,
      comparator: s('comparator') as Comparator,
      threshold: isState ? null : Number(s('threshold')),
      value: isState ? s('value') : null,
      forSeconds: Number(s('forSeconds') || 0),
      severity: s('severity') as Severity,
      tags: s('tags')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      enabled: f.get('enabled') === 'on',
    };
    try {
      if (rule) {
        const r = (await api.mutate<UpdateRuleResult>(UPDATE_RULE, { id: rule.id, input })).updateAlertRule;
        if (isApiError(r)) return setError(errorText(r));
      } else {
        const r = (await api.mutate<CreateRuleResult>(CREATE_RULE, { input })).createAlertRule;
        if (isApiError(r)) return setError(errorText(r));
      }
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <form class="form rule" onSubmit={submit} aria-label={rule ? `Edit rule ${rule.name}` : 'New rule'}>
      <label>
        Name <input name="name" required defaultValue={rule?.name ?? ''} />
      </label>
      <label>
        Metric{' '}
        <select name="metric" value={metric} onChange={(e) => setMetric(e.currentTarget.value as AlertMetric)}>
          {ALERT_METRICS.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      <label>
        Comparator{' '}
        <select name="comparator" defaultValue={rule?.comparator ?? (isState ? 'EQ' : 'GT')}>
          {COMPARATORS.filter((c) => !isState || c === 'EQ' || c === 'NEQ').map((c) => (
            <option key={c} value={c}>
              {SYMBOL[c]} {c}
            </option>
          ))}
        </select>
      </label>
      {isState ? (
        <label>
          Value <input name="value" required list="state-values" placeholder={(STATE_VALUES[metric] ?? []).join(', ')} defaultValue={rule?.value ?? ''} />
          <datalist id="state-values">
            {(STATE_VALUES[metric] ?? []).map((v) => (
              <option key={v} value={v} />
            ))}
          </datalist>
        </label>
      ) : (
        <label>
          Threshold <input name="threshold" type="number" step="any" required defaultValue={rule?.threshold ?? ''} />
        </label>
      )}
      <label>
        For (seconds) <input name="forSeconds" type="number" min={0} defaultValue={rule?.forSeconds ?? 0} />
      </label>
      <label>
        Severity{' '}
        <select name="severity" defaultValue={rule?.severity ?? 'WARNING'}>
          <option value="INFO">INFO</option>
          <option value="WARNING">WARNING</option>
          <option value="CRITICAL">CRITICAL</option>
        </select>
      </label>
      <label>
        Tags <input name="tags" placeholder="comma separated; empty: every device" defaultValue={rule?.tags.join(', ') ?? ''} />
      </label>
      <label class="check">
        <input name="enabled" type="checkbox" defaultChecked={rule?.enabled ?? true} /> Enabled
      </label>
      {error && <Notice kind="error">{error}</Notice>}
      <div class="buttons">
        <button type="submit">{rule ? 'Save rule' : 'Create rule'}</button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
