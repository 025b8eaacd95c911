/**
 * One device: its name as the heading, status, live charts, latest tables, checks and hardware
 * health, status history, host key and (for an OPERATOR) its controls. Loaded, then kept current by the device's
 * subscriptions: samples, status changes, and each poll's filesystems, interfaces, disks,
 * drives and containers (useLive: no change between the load and the subscriptions goes unseen).
 */
import {
  DEVICE,
  DEVICE_CONTAINERS,
  DEVICE_DISKS,
  DEVICE_DRIVES,
  DEVICE_FILESYSTEMS,
  DEVICE_INTERFACES,
  DEVICE_SAMPLES,
  LIVE_STATUS,
  type DeviceContainers,
  type DeviceDetail,
  type DeviceDisks,
  type DeviceDrives,
  type DeviceFilesystems,
  type DeviceInterfaces,
  type DeviceResult,
  type DeviceSamples,
  type LiveStatus,
} from '../api/documents.ts';
import { Link, Notice, StatusBadge } from '../components/common.tsx';
import { ago, bytes, duration, fixed, percent } from '../format.ts';
import { useLive } from '../live.ts';
import { useSession } from '../session.ts';
import { DeviceCharts } from './device-charts.tsx';
import { DeviceActions, HostKey } from './device-admin.tsx';
import { Collectors } from './device-collectors.tsx';
import { TopProcesses } from './device-processes.tsx';
import { Drives } from './device-drives.tsx';
import { DeviceHealthCards } from './device-health.tsx';
import { Containers, Filesystems, Interfaces, StatusHistory } from './device-tables.tsx';

function useDevice(id: string): { device: DeviceDetail | null | undefined; error: string | null; reload: () => void } {
  const { api } = useSession();
  const { state, error, reload } = useLive<DeviceDetail | null>(
    api,
    [id],
    () => api.query<DeviceResult>(DEVICE, { id }).then((r) => r.device),
    (apply, reload) => {
      const patch = (change: Partial<DeviceDetail>) => apply((d) => (d ? { ...d, ...change } : d));
      return [
        api.subscribe<DeviceSamples>(DEVICE_SAMPLES, { id }, ({ metricCollected: m }) => patch({ lastSeenAt: m.time, latestMetrics: m })),
        api.subscribe<LiveStatus>(LIVE_STATUS, { deviceId: id }, ({ deviceStatusChanged: e }) => {
          const change = { previous: e.previous, current: e.current, at: e.at, reason: e.reason };
          apply((d) => (d && !d.statusChanges.some((c) => c.at === e.at && c.current === e.current) ? { ...d, status: e.current, statusChanges: [change, ...d.statusChanges] } : d));
          // A status change usually means a collector changed state (FAILING, OK again): those have no subscription of their own.
          reload();
        }),
        api.subscribe<DeviceFilesystems>(DEVICE_FILESYSTEMS, { id }, ({ filesystemsCollected: e }) => patch({ filesystems: e.filesystems })),
        api.subscribe<DeviceInterfaces>(DEVICE_INTERFACES, { id }, ({ networkInterfacesCollected: e }) => patch({ networkInterfaces: e.interfaces })),
        api.subscribe<DeviceDisks>(DEVICE_DISKS, { id }, ({ diskIoCollected: e }) => patch({ diskIo: e.disks })),
        api.subscribe<DeviceDrives>(DEVICE_DRIVES, { id }, ({ drivesCollected: e }) => patch({ drives: e.drives })),
        api.subscribe<DeviceContainers>(DEVICE_CONTAINERS, { id }, ({ containersCollected: e }) => patch({ containers: e.containers })),
      ];
    },
  );
  return { device: state, error, reload };
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
        <Drives deviceId={device.id} list={device.drives} canEdit={canEdit} onChanged={reload} />
        <Containers list={device.containers} />
        <DeviceHealthCards id={device.id} />
        <Collectors device={device} canEdit={canEdit} onChanged={reload} />
        {canEdit && <TopProcesses id={device.id} />}
        <StatusHistory list={device.statusChanges} />
        <HostKey device={device} canEdit={canEdit} onChanged={reload} />
      </div>
    </article>
  );
}
