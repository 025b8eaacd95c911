/** A device's latest filesystems, interfaces, disks, containers and status history (drives: device-drives.tsx). */
import type { Container, DeviceDetail, DiskIo, Filesystem, NetworkInterface, StatusChange } from '../api/documents.ts';
import { StatusBadge, UsageBar } from '../components/common.tsx';
import { bytes, dateTime, percent, rate } from '../format.ts';

export function Section({ title, empty, children }: { title: string; empty: boolean; children: preact.ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <h2>{title}</h2>
      {empty ? <p class="muted">None reported.</p> : children}
    </section>
  );
}

export function Filesystems({ list }: { list: Filesystem[] }) {
  return (
    <Section title="Filesystems" empty={list.length === 0}>
      <table>
        <thead>
          <tr>
            <th>Mount</th>
            <th>Source</th>
            <th>Used</th>
            <th class="num">Size</th>
          </tr>
        </thead>
        <tbody>
          {list.map((f) => (
            <tr key={f.mount}>
              <td>{f.mount}</td>
              <td class="muted">
                {f.filesystem}
                {f.fsType ? ` (${f.fsType})` : ''}
              </td>
              <td>
                <UsageBar value={f.usedPercent} label={`${f.mount} used`} />
              </td>
              <td class="num">
                {bytes(f.usedBytes)} / {bytes(f.sizeBytes)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

export function Interfaces({ nics, disks }: { nics: NetworkInterface[]; disks: DiskIo[] }) {
  return (
    <Section title="Network and disks" empty={nics.length === 0 && disks.length === 0}>
      <table>
        <thead>
          <tr>
            <th>Interface / disk</th>
            <th class="num">In / read</th>
            <th class="num">Out / written</th>
            <th class="num">Errors / busy</th>
          </tr>
        </thead>
        <tbody>
          {nics.map((n) => (
            <tr key={`n-${n.name}`}>
              <td>{n.name}</td>
              <td class="num">{rate(n.rxBytesPerSec)}</td>
              <td class="num">{rate(n.txBytesPerSec)}</td>
              <td class="num">{(n.rxErrorsPerSec ?? 0) + (n.txErrorsPerSec ?? 0) > 0 ? `${((n.rxErrorsPerSec ?? 0) + (n.txErrorsPerSec ?? 0)).toFixed(1)}/s` : '0'}</td>
            </tr>
          ))}
          {disks.map((d) => (
            <tr key={`d-${d.disk}`}>
              <td>{d.disk}</td>
              <td class="num">{rate(d.readBytesPerSec)}</td>
              <td class="num">{rate(d.writeBytesPerSec)}</td>
              <td class="num">{percent(d.utilPercent)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

export function Containers({ list }: { list: Container[] }) {
  return (
    <Section title="Containers" empty={list.length === 0}>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>State</th>
            <th>Health</th>
            <th class="num">Restarts</th>
            <th class="num">CPU</th>
            <th class="num">Memory</th>
          </tr>
        </thead>
        <tbody>
          {list.map((c) => (
            <tr key={c.containerId}>
              <td>
                {c.name}
                <div class="muted">{c.image}</div>
              </td>
              <td>
                <span class={`badge ct-${c.state}`}>{c.state}</span>
              </td>
              <td>{c.health ? <span class={`badge ch-${c.health}`}>{c.health}</span> : <span class="muted">–</span>}</td>
              <td class="num">{c.restartCount ?? '–'}</td>
              <td class="num">{percent(c.cpuPercent, 1)}</td>
              <td class="num">
                {bytes(c.memUsageBytes)}
                {c.memLimitBytes ? ` / ${bytes(c.memLimitBytes)}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

export function StatusHistory({ list }: { list: StatusChange[] }) {
  return (
    <Section title="Recent status changes" empty={list.length === 0}>
      <ol class="changes">
        {list.map((c) => (
          <li key={`${c.at}-${c.current}`}>
            <time dateTime={c.at}>{dateTime(c.at)}</time> <StatusBadge status={c.previous} /> → <StatusBadge status={c.current} />
            {c.reason && <div class="muted">{c.reason}</div>}
          </li>
        ))}
      </ol>
    </Section>
  );
}

export type { DeviceDetail };
