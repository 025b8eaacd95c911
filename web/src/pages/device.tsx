/**
 * One device: its name as the heading, status, live charts, latest tables, status history,
 * host key and (for an OPERATOR) its controls. The details reload when the device reports a
 * sample, a status, a container or a drive change (events, not a timer), at most every 10 s.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  DEVICE,
  DEVICE_CHANGES,
  DEVICE_SAMPLES,
  DRIVE_CHANGES,
  LIVE_STATUS,
  type DeviceDetail,
  type DeviceResult,
  type DeviceSamples,
  type LiveStatus,
} from '../api/documents.ts';
import { Link, Notice, StatusBadge } from '../components/common.tsx';
import { ago, bytes, duration, fixed, percent } from '../format.ts';
import { useSession } from '../session.ts';
import { DeviceCharts } from './device-charts.tsx';
import { DeviceActions, HostKey } from './device-admin.tsx';
import { Containers, Drives, Filesystems, Interfaces, StatusHistory } from './device-tables.tsx';

const RELOAD_AT_MOST_MS = 10_000;

function useDevice(id: string): { device: DeviceDetail | null | undefined; error: string | null; reload: () => void } {
  const { api } = useSession();
  const [device, setDevice] = useState<DeviceDetail | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const last = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);

  const load = useCallback(() => {
    last.current = Date.now();
    api.query<DeviceResult>(DEVICE, { id }).then(
      (r) => {
        setDevice(r.device);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  }, [api, id]);

  /** Soon, but never more often than every RELOAD_AT_MOST_MS. */
  const reloadSoon = useCallback(() => {
    if (pending.current) return;
    const wait = Math.max(0, last.current + RELOAD_AT_MOST_MS - Date.now());
    pending.current = setTimeout(() => {
      pending.current = null;
      load();
    }, wait);
  }, [load]);

  useEffect(() => {
    setDevice(undefined);
    load();
    const stops = [
      api.subscribe<DeviceSamples>(DEVICE_SAMPLES, { id }, reloadSoon),
      api.subscribe<LiveStatus>(LIVE_STATUS, { deviceId: id }, ({ deviceStatusChanged: e }) => {
        setDevice((d) => (d ? { ...d, status: e.current, statusChanges: [{ previous: e.previous, current: e.current, at: e.at, reason: e.reason }, ...d.statusChanges] } : d));
        reloadSoon();
      }),
      api.subscribe(DEVICE_CHANGES, { id }, reloadSoon),
      api.subscribe(DRIVE_CHANGES, { id }, reloadSoon),
      api.onResync(load),
    ];
    return () => {
      for (const s of stops) s();
      if (pending.current) clearTimeout(pending.current);
      pending.current = null;
    };
  }, [id]);

  return { device, error, reload: load };
}

export function DevicePage({ id }: { id: string }) {
  const { canEdit } = useSession();
  const { device, error, reload } = useDevice(id);

  if (error && !device) return <Notice kind="error">The device could not be loaded: {error}</Notice>;
  if (device === undefined) return <Notice>Loading…</Notice>;
  if (device === null)
    return (
      <section>
        <h1>No such device</h1>
        <p>
          There is no device with id <code>{id}</code>. <Link href="/">Back to the fleet</Link>
        </p>
      </section>
    );

  const m = device.latestMetrics;
  return (
    <article class="device">
      <header class="device-head">
        <p class="crumbs">
          <Link href="/">Fleet</Link> /
        </p>
        <h1>{device.name}</h1>
        <StatusBadge status={device.status} />
        <span class="muted">
          {device.transport === 'LOCAL' ? 'this machine' : `${device.username ?? ''}@${device.hostname}:${device.port}`} · last seen {ago(device.lastSeenAt ? Date.parse(device.lastSeenAt) : null)}
        </span>
        {device.tags.length > 0 && (
          <span class="tags">
            {device.tags.map((t) => (
              <span key={t} class="tag">
                {t}
              </span>
            ))}
          </span>
        )}
      </header>
      {device.lastError && device.status !== 'ONLINE' && <Notice kind="error">{device.lastError}</Notice>}
      {m && (
        <dl class="summary">
          <div>
            <dt>CPU</dt>
            <dd>
              {percent(m.cpuPercent)} of {m.cpuCount}
            </dd>
          </div>
          <div>
            <dt>Memory</dt>
            <dd>
              {percent(m.memUsedPercent)} of {bytes(m.memTotalBytes)}
            </dd>
          </div>
          <div>
            <dt>Load</dt>
            <dd>{fixed(m.load1)}</dd>
          </div>
          <div>
            <dt>Up</dt>
            <dd>{duration(m.uptimeSeconds)}</dd>
          </div>
        </dl>
      )}
      {canEdit && <DeviceActions device={device} onChanged={reload} />}
      <DeviceCharts id={device.id} />
      <div class="cards">
        <Filesystems list={device.filesystems} />
        <Interfaces nics={device.networkInterfaces} disks={device.diskIo} />
        <Drives list={device.drives} />
        <Containers list={device.containers} />
        <StatusHistory list={device.statusChanges} />
        <HostKey device={device} canEdit={canEdit} onChanged={reload} />
      </div>
    </article>
  );
}
