/** What an OPERATOR can do on a device page: poll now, edit, switch monitoring, trust a changed host key. */
import { useState } from 'preact/hooks';
import { POLL_NOW, TRUST_HOST_KEY, UPDATE_DEVICE, type DeviceDetail, type DeviceEdit, type PollNowResult, type TrustHostKeyResult, type UpdateDeviceResult } from '../api/documents.ts';
import { Notice, errorText, isApiError } from '../components/common.tsx';
import { useSession } from '../session.ts';

type Outcome = { kind: 'ok' | 'error'; text: string } | null;

export function DeviceActions({ device, onChanged }: { device: DeviceDetail; onChanged: () => void }) {
  const { api } = useSession();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [editing, setEditing] = useState(false);

  async function act(run: () => Promise<Outcome>) {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome(await run());
      onChanged();
    } catch (e) {
      setOutcome({ kind: 'error', text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  }

  const pollNow = () =>
    act(async () => {
      const r = (await api.mutate<PollNowResult>(POLL_NOW, { id: device.id })).pollDevice;
      if (isApiError(r)) return { kind: 'error', text: errorText(r) };
      if (r.skipped) return { kind: 'error', text: `Not polled: ${r.skipped}.` };
      const failed = r.collectors.filter((c) => !c.ok).map((c) => `${c.collector}: ${c.error ?? 'failed'}`);
      const ms = r.durationMs === null ? '' : ` in ${r.durationMs.toFixed(0)} ms`;
      return { kind: failed.length ? 'error' : 'ok', text: `Polled${ms}: ${r.status}.${failed.length ? ` ${failed.join('; ')}` : ''}` };
    });

  const setMonitoring = (monitoringEnabled: boolean) =>
    act(async () => {
      const r = (await api.mutate<UpdateDeviceResult>(UPDATE_DEVICE, { id: device.id, input: { monitoringEnabled } })).updateDevice;
      return isApiError(r) ? { kind: 'error', text: errorText(r) } : { kind: 'ok', text: monitoringEnabled ? 'Monitoring enabled.' : 'Monitoring disabled.' };
    });

  return (
    <div class="actions">
      <div class="buttons">
        <button type="button" disabled={busy || !device.monitoringEnabled} onClick={pollNow}>
          Poll now
        </button>
        <button type="button" disabled={busy} onClick={() => setEditing(!editing)} aria-expanded={editing}>
          Edit
        </button>
        <button type="button" disabled={busy} onClick={() => setMonitoring(!device.monitoringEnabled)}>
          {device.monitoringEnabled ? 'Disable monitoring' : 'Enable monitoring'}
        </button>
      </div>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
      {editing && (
        <EditDevice
          device={device}
          onDone={(text) => {
            setEditing(false);
            setOutcome({ kind: 'ok', text });
            onChanged();
          }}
        />
      )}
    </div>
  );
}

function EditDevice({ device, onDone }: { device: DeviceDetail; onDone: (text: string) => void }) {
  const { api } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const s = (k: string) => String(f.get(k) ?? '').trim();
    const input: DeviceEdit = {
      name: s('name'),
      tags: s('tags')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      sudoSmartctl: f.get('sudoSmartctl') === 'on',
    };
    if (device.transport === 'SSH') Object.assign(input, { hostname: s('hostname'), port: Number(s('port')), username: s('username') || null });
    setBusy(true);
    try {
      const r = (await api.mutate<UpdateDeviceResult>(UPDATE_DEVICE, { id: device.id, input })).updateDevice;
      if (isApiError(r)) setError(errorText(r));
      else onDone('Saved.');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  // Intervals and switching collectors off live in the Collectors panel (device-collectors.tsx).
  return (
    <form class="form edit" onSubmit={submit} aria-label="Edit device">
      <label>
        Name <input name="name" required defaultValue={device.name} />
      </label>
      {device.transport === 'SSH' && (
        <>
          <label>
            Host name or address <input name="hostname" required defaultValue={device.hostname} />
          </label>
          <label>
            Port <input name="port" type="number" min={1} max={65535} defaultValue={device.port} />
          </label>
          <label>
            User name <input name="username" defaultValue={device.username ?? ''} />
          </label>
        </>
      )}
      <label>
        Tags <input name="tags" defaultValue={device.tags.join(', ')} placeholder="comma separated" />
      </label>
      <label class="check">
        <input name="sudoSmartctl" type="checkbox" defaultChecked={device.sudoSmartctl} /> Run smartctl through sudo
      </label>
      {error && <Notice kind="error">{error}</Notice>}
      <button type="submit" disabled={busy}>
        Save
      </button>
    </form>
  );
}

/** The pinned key, and when the host presents another one, both fingerprints and (for an OPERATOR) a way to trust the new one. */
export function HostKey({ device, canEdit, onChanged }: { device: DeviceDetail; canEdit: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const presented = device.presentedHostKey;

  async function trust() {
    if (!presented) return;
    try {
      const r = (await api.mutate<TrustHostKeyResult>(TRUST_HOST_KEY, { id: device.id, fingerprint: presented })).trustHostKey;
      if (isApiError(r)) setError(errorText(r));
      else {
        setConfirming(false);
        onChanged();
      }
    } catch (e) {
      setError((e as Error).message);
    }
  }

  if (device.transport === 'LOCAL') return null;
  return (
    <section class="card" aria-label="Host key">
      <h2>Host key</h2>
      <dl class="facts">
        <dt>Pinned</dt>
        <dd>
          <code>{device.hostKeyFingerprint ?? 'none yet (the first key seen is trusted)'}</code>
        </dd>
        {presented && (
          <>
            <dt>Now presented</dt>
            <dd>
              <code>{presented}</code>
            </dd>
          </>
        )}
      </dl>
      {presented && (
        <Notice kind="error">
          The host presents a different key than the pinned one. Polling stopped: check out of band (<code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> on the host) that the
          new key is genuine before trusting it.
        </Notice>
      )}
      {presented && canEdit && !confirming && (
        <button type="button" onClick={() => setConfirming(true)}>
          Trust the new key…
        </button>
      )}
      {presented && canEdit && confirming && (
        <div class="buttons">
          <button type="button" class="danger" onClick={trust}>
            Trust {presented}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      {error && <Notice kind="error">{error}</Notice>}
    </section>
  );
}
