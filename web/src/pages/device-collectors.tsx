/**
 * The device's collectors: each one's state (OK, FAILING, UNAVAILABLE on this host, DISABLED),
 * why, and when it last ran; for an OPERATOR a switch and an interval per collector, both
 * through updateDevice. UNAVAILABLE is not trouble (no docker, no smartctl here), so it is grey.
 */
import { useState } from 'preact/hooks';
import { UPDATE_DEVICE, type CollectorState, type DeviceDetail, type DeviceEdit, type UpdateDeviceResult } from '../api/documents.ts';
import { Notice, errorText, isApiError } from '../components/common.tsx';
import { ago } from '../format.ts';
import { useSession } from '../session.ts';

const label = (name: string): string => name.charAt(0) + name.slice(1).toLowerCase();

export function Collectors({ device, canEdit, onChanged }: { device: DeviceDetail; canEdit: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function save(setting: NonNullable<DeviceEdit['collectors']>[number]) {
    setBusy(true);
    setError(null);
    try {
      const r = (await api.mutate<UpdateDeviceResult>(UPDATE_DEVICE, { id: device.id, input: { collectors: [setting] } })).updateDevice;
      if (isApiError(r)) setError(errorText(r));
      else onChanged();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-label="Collectors">
      <h2>Collectors</h2>
      <table>
        <thead>
          <tr>
            <th>Collector</th>
            <th>State</th>
            <th>Reason</th>
            <th>Last run</th>
            {canEdit && <th>On</th>}
            {canEdit && <th>Every (s)</th>}
          </tr>
        </thead>
        <tbody>
          {device.collectors.map((c) => (
            <tr key={c.name} aria-label={`${label(c.name)} collector`}>
              <td>{label(c.name)}</td>
              <td>
                <span class={`badge co-${c.state ?? 'NONE'}`}>{c.state ?? 'not run yet'}</span>
              </td>
              <td class="muted">{c.reason ?? ''}</td>
              <td class="muted">{ago(c.lastRunAt ? Date.parse(c.lastRunAt) : null)}</td>
              {canEdit && (
                <td>
                  <input
                    type="checkbox"
                    role="switch"
                    aria-label={`Run the ${label(c.name).toLowerCase()} collector`}
                    checked={c.enabled}
                    disabled={busy}
                    onChange={(e) => void save({ name: c.name, enabled: (e.currentTarget as HTMLInputElement).checked })}
                  />
                </td>
              )}
              {canEdit && (
                <td>
                  <IntervalField collector={c} busy={busy} onSave={(intervalSeconds) => void save({ name: c.name, intervalSeconds })} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {error && <Notice kind="error">{error}</Notice>}
    </section>
  );
}

/** Blank: the server's interval (shown as the placeholder). Saved on Enter or when the field loses focus with a new value. */
function IntervalField({ collector: c, busy, onSave }: { collector: CollectorState; busy: boolean; onSave: (seconds: number | null) => void }) {
  const current = c.intervalOverride === null ? '' : String(c.intervalOverride);
  const commit = (value: string) => {
    if (value.trim() === current) return;
    onSave(value.trim() === '' ? null : Number(value));
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        commit(String(new FormData(e.currentTarget as HTMLFormElement).get('seconds') ?? ''));
      }}
    >
      <input
        name="seconds"
        type="number"
        min={5}
        class="interval"
        aria-label={`Seconds between ${label(c.name).toLowerCase()} polls`}
        placeholder={String(c.intervalSeconds)}
        defaultValue={current}
        disabled={busy}
        onBlur={(e) => commit((e.currentTarget as HTMLInputElement).value)}
      />
    </form>
  );
}
