/**
 * Alerts: the open ones live (alertChanged, through useLive), acknowledge and silence them; the
 * rules (list, create, edit, enable); the active silences (expire). A VIEWER sees the lists only.
 */
import { useEffect, useState } from 'preact/hooks';
import {
  ACKNOWLEDGE,
  CREATE_SILENCE,
  EXPIRE_SILENCE,
  LIVE_ALERTS,
  OPEN_ALERTS,
  SILENCES,
  type AcknowledgeResult,
  type Alert,
  type CreateSilenceResult,
  type ExpireSilenceResult,
  type LiveAlerts,
  type OpenAlertsResult,
  type Silence,
  type SilencesResult,
} from '../api/documents.ts';
import { Link, Notice, errorText, isApiError } from '../components/common.tsx';
import { ago, dateTime } from '../format.ts';
import { devicePath } from '../router.ts';
import { allPages } from '../api/paging.ts';
import { useLive } from '../live.ts';
import { useSession } from '../session.ts';
import { Rules } from './alert-rules.tsx';

const SILENCE_FOR = [
  { label: '1 hour', hours: 1 },
  { label: '4 hours', hours: 4 },
  { label: '1 day', hours: 24 },
  { label: '1 week', hours: 168 },
];

function useOpenAlerts(): { alerts: Alert[] | undefined; error: string | null; replace: (a: Alert) => void } {
  const { api } = useSession();
  const { state, error, apply } = useLive<Alert[]>(
    api,
    [],
    () => allPages(api, OPEN_ALERTS, (r: OpenAlertsResult) => r.alerts),
    (apply) => [
      api.subscribe<LiveAlerts>(LIVE_ALERTS, {}, ({ alertChanged: e }) => apply(e.alert ? withAlert(e.alert) : (list) => list.filter((x) => x.id !== e.alertId))),
    ],
  );
  return { alerts: state, error, replace: (a) => apply(withAlert(a)) };
}

/** The list with `a` first in place of its older self (or without it, once RESOLVED). */
const withAlert =
  (a: Alert) =>
  (list: Alert[]): Alert[] =>
    a.state === 'RESOLVED' ? list.filter((x) => x.id !== a.id) : [a, ...list.filter((x) => x.id !== a.id)];

function AlertRow({ alert, onChanged, onSilenced }: { alert: Alert; onChanged: (a: Alert) => void; onSilenced: () => void }) {
  const { api, canEdit } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [silencing, setSilencing] = useState(false);

  async function acknowledge() {
    try {
      const r = (await api.mutate<AcknowledgeResult>(ACKNOWLEDGE, { id: alert.id })).acknowledgeAlert;
      if (isApiError(r)) setError(errorText(r));
      else onChanged(r);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function silence(e: Event) {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const hours = Number(f.get('hours'));
    const input = {
      matchers: { deviceIds: [alert.deviceId], ruleIds: [alert.ruleId] },
      endsAt: new Date(Date.now() + hours * 3_600_000).toISOString(),
      comment: String(f.get('comment') ?? '').trim() || `silenced from the dashboard: ${alert.rule.name} on ${alert.deviceName}`,
    };
    try {
      const r = (await api.mutate<CreateSilenceResult>(CREATE_SILENCE, { input })).createSilence;
      if (isApiError(r)) setError(errorText(r));
      else {
        setSilencing(false);
        onSilenced();
      }
    } catch (err) {
      setError((err as Error).message);
    }
  }

  const since = alert.firedAt ?? alert.pendingSince;
  return (
    <li class={`alert sev-${alert.severity}`} data-alert-id={alert.id}>
      <div class="alert-main">
        <span class={`badge al-${alert.state}`}>{alert.state}</span>
        <span class={`badge sev-${alert.severity}`}>{alert.severity}</span>
        <strong>{alert.rule.name}</strong> on <Link href={devicePath(alert.deviceId)}>{alert.deviceName}</Link>
        {alert.subject && <span class="muted"> ({alert.subject})</span>}
        <span class="muted"> · since {ago(Date.parse(since))}</span>
        {alert.acknowledgedBy && <span class="muted"> · acknowledged by {alert.acknowledgedBy}</span>}
      </div>
      {alert.message && <div class="alert-message">{alert.message}</div>}
      {canEdit && (
        <div class="buttons">
          {alert.state !== 'ACKNOWLEDGED' && (
            <button type="button" onClick={acknowledge}>
              Acknowledge
            </button>
          )}
          <button type="button" onClick={() => setSilencing(!silencing)} aria-expanded={silencing}>
            Silence…
          </button>
        </div>
      )}
      {silencing && (
        <form class="form inline" onSubmit={silence} aria-label="Silence this alert">
          <label>
            For{' '}
            <select name="hours">
              {SILENCE_FOR.map((s) => (
                <option key={s.hours} value={s.hours}>
                  {s.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Comment <input name="comment" placeholder="why (optional)" />
          </label>
          <button type="submit">Create silence</button>
        </form>
      )}
      {error && <Notice kind="error">{error}</Notice>}
    </li>
  );
}

function Silences({ version }: { version: number }) {
  const { api, canEdit } = useSession();
  const [list, setList] = useState<Silence[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.query<SilencesResult>(SILENCES).then(
      (r) => setList(r.silences),
      (e: Error) => setError(e.message),
    );
  }, [version]);

  async function expire(s: Silence) {
    try {
      // An end one second from now: the API wants endsAt in the future, and the silence stays on record.
      const r = (await api.mutate<ExpireSilenceResult>(EXPIRE_SILENCE, { id: s.id, endsAt: new Date(Date.now() + 1000).toISOString() })).updateSilence;
      if (isApiError(r)) setError(errorText(r));
      else setList((l) => l.filter((x) => x.id !== s.id));
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const describe = (s: Silence) =>
    [
      s.matchers.deviceIds.length ? `${s.matchers.deviceIds.length} device(s)` : null,
      s.matchers.ruleIds.length ? `${s.matchers.ruleIds.length} rule(s)` : null,
      s.matchers.tags.length ? `tags ${s.matchers.tags.join(', ')}` : null,
      s.matchers.severities.length ? s.matchers.severities.join(', ') : null,
    ]
      .filter(Boolean)
      .join(' · ') || 'everything';

  return (
    <section class="card" aria-label="Silences">
      <h2>Active silences</h2>
      {error && <Notice kind="error">{error}</Notice>}
      {list.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul class="silences">
          {list.map((s) => (
            <li key={s.id}>
              <span>{describe(s)}</span> <span class="muted">until {dateTime(s.endsAt)}</span> <span>{s.comment}</span>
              {s.createdBy && <span class="muted"> · by {s.createdBy}</span>}
              {canEdit && (
                <button type="button" onClick={() => expire(s)}>
                  Expire
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function AlertsPage() {
  const { alerts = [], error, replace } = useOpenAlerts();
  const [silences, setSilences] = useState(0);
  const firing = alerts.filter((a) => a.state === 'FIRING').length;
  return (
    <section class="alerts-page">
      <h1>Alerts</h1>
      <section class="card" aria-label="Open alerts">
        <h2>
          Open alerts <span class="muted">({firing} firing, {alerts.length - firing} pending or acknowledged)</span>
        </h2>
        {error && <Notice kind="error">{error}</Notice>}
        {alerts.length === 0 ? (
          <p class="muted">Nothing is firing.</p>
        ) : (
          <ul class="alert-list">
            {alerts.map((a) => (
              <AlertRow key={a.id} alert={a} onChanged={replace} onSilenced={() => setSilences((n) => n + 1)} />
            ))}
          </ul>
        )}
      </section>
      <Silences version={silences} />
      <Rules />
    </section>
  );
}
