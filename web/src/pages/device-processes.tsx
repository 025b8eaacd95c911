/**
 * The device's busiest processes now, for an OPERATOR (reading them runs a command on the host:
 * Device.topProcesses samples /proc twice, half a second apart). Nothing is fetched until asked.
 */
import { useState } from 'preact/hooks';
import { TOP_PROCESSES, type ProcessOrder, type TopProcesses as Top, type TopProcessesResult } from '../api/documents.ts';
import { Notice } from '../components/common.tsx';
import { bytes, rate } from '../format.ts';
import { useSession } from '../session.ts';

const ORDERS: [ProcessOrder, string][] = [['CPU', 'By CPU'], ['MEMORY', 'By memory'], ['IO', 'By I/O']];

export function TopProcesses({ id }: { id: string }) {
  const { api } = useSession();
  const [top, setTop] = useState<Top | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function load(by: ProcessOrder) {
    setBusy(true);
    setError(null);
    try {
      const r = (await api.query<TopProcessesResult>(TOP_PROCESSES, { id, by })).device?.topProcesses;
      if (!r) setError('The device is gone.');
      else if (r.__typename === 'TopProcesses') setTop(r);
      else setError(r.errorMessage);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-label="Top processes">
      <h2>Top processes</h2>
      <p>
        {ORDERS.map(([by, label]) => (
          <button key={by} type="button" disabled={busy} onClick={() => void load(by)}>
            {label}
          </button>
        ))}{' '}
        {busy && <span class="muted">sampling the host…</span>}
      </p>
      {error && <Notice kind="error">{error}</Notice>}
      {top && (
        <table>
          <caption class="muted">
            {top.processes.length} of {top.processCount} processes,{' '}
            {top.cpuBasis === 'INTERVAL' ? `CPU over ${top.sampleIntervalSeconds ?? '?'} s` : 'CPU averaged over each process\'s life (the host has no readable /proc)'}
          </caption>
          <thead>
            <tr>
              <th>PID</th>
              <th>User</th>
              <th>Command</th>
              <th>CPU %</th>
              <th>Memory</th>
              <th>Read</th>
              <th>Write</th>
            </tr>
          </thead>
          <tbody>
            {top.processes.map((p) => (
              <tr key={p.pid}>
                <td>{p.pid}</td>
                <td>{p.user ?? '–'}</td>
                <td class="command">{p.command}</td>
                <td>{p.cpuPercent ?? '–'}</td>
                <td>{bytes(p.memoryBytes)}</td>
                <td>{rate(p.ioReadBytesPerSecond)}</td>
                <td>{rate(p.ioWriteBytesPerSecond)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
