/**
 * A device's drives: SMART health with its reasons, temperature, power-on hours, how far the
 * error counters rose above their acknowledged baseline, and the self-test log. An OPERATOR
 * acknowledges a drive's counters (acknowledgeDriveCounters): DRIVE_COUNTER_INCREASE alerts
 * then fire only when they rise again.
 */
import { useState } from 'preact/hooks';
import { ACKNOWLEDGE_DRIVE, type AcknowledgeDriveResult, type Drive } from '../api/documents.ts';
import { Notice, StatusBadge, errorText, isApiError } from '../components/common.tsx';
import { bytes, dateTime } from '../format.ts';
import { useSession } from '../session.ts';
import { Section } from './device-tables.tsx';

function SelfTests({ drive }: { drive: Drive }) {
  if (drive.selfTests.length === 0) return <span class="muted">no self-test logged</span>;
  return (
    <details>
      <summary>Self-tests ({drive.selfTests.length})</summary>
      <table aria-label={`${drive.drive} self-tests`}>
        <thead>
          <tr>
            <th>Test</th>
            <th>Result</th>
            <th class="num">At hour</th>
          </tr>
        </thead>
        <tbody>
          {drive.selfTests.map((t, i) => (
            <tr key={i}>
              <td>{t.kind}</td>
              <td class={t.passed === false ? 'bad' : undefined}>{t.status}</td>
              <td class="num">{t.lifetimeHours ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Counters({ deviceId, drive, canEdit, onChanged }: { deviceId: string; drive: Drive; canEdit: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function acknowledge() {
    setBusy(true);
    setError(null);
    try {
      const r = (await api.mutate<AcknowledgeDriveResult>(ACKNOWLEDGE_DRIVE, { id: deviceId, drive: drive.serial ?? drive.drive })).acknowledgeDriveCounters;
      if (isApiError(r)) setError(errorText(r));
      else onChanged();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const ack = drive.acknowledged;
  return (
    <>
      <span class={drive.counterIncrease > 0 ? 'bad' : undefined}>+{drive.counterIncrease}</span>
      <div class="muted">{ack ? `acknowledged ${dateTime(ack.acknowledgedAt)}${ack.acknowledgedBy ? ` by ${ack.acknowledgedBy}` : ''}` : 'never acknowledged'}</div>
      {canEdit && (
        <button type="button" disabled={busy} onClick={() => void acknowledge()} aria-label={`Acknowledge counters of ${drive.drive}`}>
          Acknowledge counters
        </button>
      )}
      {error && <Notice kind="error">{error}</Notice>}
    </>
  );
}

export function Drives({ deviceId, list, canEdit, onChanged }: { deviceId: string; list: Drive[]; canEdit: boolean; onChanged: () => void }) {
  return (
    <Section title="Drives" empty={list.length === 0}>
      <table>
        <thead>
          <tr>
            <th>Drive</th>
            <th>Health</th>
            <th>Why</th>
            <th class="num">Temp.</th>
            <th class="num">Power-on</th>
            <th>Counter rise</th>
          </tr>
        </thead>
        <tbody>
          {list.map((d) => (
            <tr key={d.serial ?? d.drive} aria-label={`${d.drive} drive`}>
              <td>
                {d.drive}
                <div class="muted">{[d.model, d.serial, d.capacityBytes ? bytes(d.capacityBytes) : null].filter(Boolean).join(' · ')}</div>
                <SelfTests drive={d} />
              </td>
              <td>
                <StatusBadge status={d.health} />
              </td>
              <td>
                {d.health === 'HEALTHY' ? (
                  <span class="muted">–</span>
                ) : (
                  <ul class="reasons">
                    {d.healthReasons.map((r) => (
                      <li key={r}>{r}</li>
                    ))}
                  </ul>
                )}
              </td>
              <td class="num">{d.temperatureC === null ? '–' : `${d.temperatureC} °C`}</td>
              <td class="num">{d.powerOnHours === null ? '–' : `${d.powerOnHours} h`}</td>
              <td>
                <Counters deviceId={deviceId} drive={d} canEdit={canEdit} onChanged={onChanged} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
