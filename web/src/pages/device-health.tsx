/**
 * A device's checks (the latest result of each) and hardware health (pools and md arrays,
 * hwmon sensors, GPUs). Loaded with their own query, then kept current by checkResultChanged
 * (a status change or a check's first result) and each poll's pools, sensors and GPUs
 * (useLive: no change between the load and the subscriptions goes unseen).
 */
import {
  DEVICE_CHECK_RESULTS,
  DEVICE_GPUS,
  DEVICE_HEALTH,
  DEVICE_POOLS,
  DEVICE_SENSORS,
  type CheckResult,
  type DeviceCheckResults,
  type DeviceGpus,
  type DeviceHealth,
  type DeviceHealthResult,
  type DevicePools,
  type DeviceSensors,
  type StoragePool,
} from '../api/documents.ts';
import { Notice, StatusBadge } from '../components/common.tsx';
import { ago, bytes, dateTime, percent } from '../format.ts';
import { useLive } from '../live.ts';
import { useSession } from '../session.ts';

const byName = (a: CheckResult, b: CheckResult) => (a.check?.name ?? a.checkId).localeCompare(b.check?.name ?? b.checkId);

export function useDeviceHealth(id: string): { health: DeviceHealth | null; error: string | null } {
  const { api } = useSession();
  const { state, error } = useLive<DeviceHealth | null>(
    api,
    [id],
    () => api.query<DeviceHealthResult>(DEVICE_HEALTH, { id }).then((r) => r.device),
    (apply) => {
      const patch = (change: (h: DeviceHealth) => Partial<DeviceHealth>) => apply((h) => (h ? { ...h, ...change(h) } : h));
      return [
        api.subscribe<DeviceCheckResults>(DEVICE_CHECK_RESULTS, { id }, ({ checkResultChanged: r }) =>
          patch((h) => ({ checks: [...h.checks.filter((c) => c.checkId !== r.checkId), r].sort(byName) })),
        ),
        api.subscribe<DevicePools>(DEVICE_POOLS, { id }, ({ poolsCollected: e }) =>
          patch(() => ({ pools: e.pools.filter((p) => p.kind !== 'MDRAID'), raidArrays: e.pools.filter((p) => p.kind === 'MDRAID') })),
        ),
        api.subscribe<DeviceSensors>(DEVICE_SENSORS, { id }, ({ sensorsCollected: e }) => patch(() => ({ sensors: e.sensors }))),
        api.subscribe<DeviceGpus>(DEVICE_GPUS, { id }, ({ gpusCollected: e }) => patch(() => ({ gpus: e.gpus }))),
      ];
    },
  );
  return { health: state ?? null, error };
}

export function Checks({ list }: { list: CheckResult[] }) {
  return (
    <section class="card" aria-label="Checks">
      <h2>Checks</h2>
      {list.length === 0 ? (
        <p class="muted">No check has run here yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Check</th>
              <th>Status</th>
              <th>Message</th>
              <th>When</th>
            </tr>
          </thead>
          <tbody>
            {list.map((r) => {
              const name = r.check?.name ?? r.checkId;
              return (
                <tr key={r.checkId} aria-label={`${name} check`}>
                  <td>{name}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td class="command">{r.message}</td>
                  <td>
                    <time dateTime={r.time} title={dateTime(r.time)}>
                      {ago(Date.parse(r.time))}
                    </time>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function poolDetail(p: StoragePool): string {
  const parts = [p.kind === 'MDRAID' ? (p.level ?? 'md') : p.kind];
  if (p.totalDevices !== null) parts.push(`${p.activeDevices ?? '?'}/${p.totalDevices} devices`);
  if (p.sizeBytes !== null) parts.push(bytes(p.sizeBytes));
  if (p.capPercent !== null) parts.push(`${percent(p.capPercent)} full`);
  if (p.scanInProgress) parts.push(`${p.scanKind ?? 'scan'} ${p.scanPercent === null ? '' : percent(p.scanPercent, 1)}`.trim());
  return parts.join(' · ');
}

function sensorValue(s: DeviceHealth['sensors'][number]): string {
  if (s.value === null) return '–';
  return s.kind === 'FAN' ? `${Math.round(s.value)} RPM` : `${s.value.toFixed(1)} °C`;
}

export function Hardware({ health }: { health: DeviceHealth }) {
  const pools = [...health.pools, ...health.raidArrays];
  const { sensors, gpus } = health;
  return (
    <section class="card" aria-label="Hardware">
      <h2>Hardware</h2>
      {pools.length + sensors.length + gpus.length === 0 && <p class="muted">No pools, arrays, sensors or GPUs reported.</p>}
      {pools.length > 0 && (
        <table aria-label="Pools and arrays">
          <thead>
            <tr>
              <th>Pool / array</th>
              <th>State</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {pools.map((p) => (
              <tr key={`${p.kind}-${p.name}`} aria-label={`${p.name} pool`}>
                <td>{p.name}</td>
                <td>
                  <StatusBadge status={p.state} />
                </td>
                <td class="muted">
                  {poolDetail(p)}
                  {p.errors && p.errors !== 'No known data errors' ? ` · ${p.errors}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {sensors.length > 0 && (
        <table aria-label="Sensors">
          <thead>
            <tr>
              <th>Sensor</th>
              <th class="num">Reading</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {sensors.map((s) => (
              <tr key={s.sensor} aria-label={`${s.label} sensor`}>
                <td>
                  {s.label}
                  {s.chip && <span class="muted"> ({s.chip})</span>}
                </td>
                <td class="num">{sensorValue(s)}</td>
                <td>
                  <StatusBadge status={s.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {gpus.length > 0 && (
        <table aria-label="GPUs">
          <thead>
            <tr>
              <th>GPU</th>
              <th class="num">Temp.</th>
              <th class="num">Utilisation</th>
              <th class="num">Memory</th>
              <th class="num">Power</th>
            </tr>
          </thead>
          <tbody>
            {gpus.map((g) => (
              <tr key={g.gpu} aria-label={`${g.name ?? g.gpu} GPU`}>
                <td>{g.name ?? g.gpu}</td>
                <td class="num">{g.temperatureC === null ? '–' : `${g.temperatureC} °C`}</td>
                <td class="num">{percent(g.utilizationPercent)}</td>
                <td class="num">
                  {bytes(g.memoryUsedBytes)} / {bytes(g.memoryTotalBytes)}
                </td>
                <td class="num">{g.powerDrawWatts === null ? '–' : `${g.powerDrawWatts.toFixed(0)} W`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Both cards, from one load. */
export function DeviceHealthCards({ id }: { id: string }) {
  const { health, error } = useDeviceHealth(id);
  if (error && !health) return <Notice kind="error">Checks and hardware could not be loaded: {error}</Notice>;
  if (!health) return null;
  return (
    <>
      <Checks list={[...health.checks].sort(byName)} />
      <Hardware health={health} />
    </>
  );
}
