/**
 * A device's charts: `metricHistory` over the chosen range (bucket averages with their min–max
 * band), continued live by the device's `metricCollected` samples (useLive: a sample that arrives
 * while the history loads is appended to it, not dropped).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { DEVICE_SAMPLES, HISTORY, type Bucket, type DeviceSamples, type FullSample, type HistoryResult, type Stat } from '../api/documents.ts';
import { TimeChart, type Values } from '../charts/time-chart.tsx';
import { Notice } from '../components/common.tsx';
import { fixed, percent, rate } from '../format.ts';
import { useLive } from '../live.ts';
import { useSession } from '../session.ts';

export const RANGES = [
  { label: '1 h', seconds: 3600 },
  { label: '24 h', seconds: 86_400 },
  { label: '7 d', seconds: 7 * 86_400 },
  { label: '30 d', seconds: 30 * 86_400 },
] as const;
type Range = (typeof RANGES)[number];

interface Band {
  avg: Values;
  min: Values;
  max: Values;
}
const METRICS = ['cpuPercent', 'cpuIowaitPercent', 'cpuStealPercent', 'memUsedPercent', 'load1', 'load5', 'load15', 'netRxBytesPerSec', 'netTxBytesPerSec', 'diskReadBytesPerSec', 'diskWriteBytesPerSec'] as const;
type Metric = (typeof METRICS)[number];
type Columns = { t: number[] } & Record<Metric, Band>;

function empty(): Columns {
  const c = { t: [] as number[] } as Columns;
  for (const m of METRICS) c[m] = { avg: [], min: [], max: [] };
  return c;
}

function fromBuckets(buckets: Bucket[]): Columns {
  const c = empty();
  for (const b of buckets) {
    c.t.push(Date.parse(b.time) / 1000);
    for (const m of METRICS) {
      const s: Stat = b[m];
      c[m].avg.push(s.avg);
      c[m].min.push(s.min);
      c[m].max.push(s.max);
    }
  }
  return c;
}

/** A live sample becomes one more point (avg = min = max); points older than the range drop off. */
function append(c: Columns, s: FullSample, range: Range): Columns {
  const t = Date.parse(s.time) / 1000;
  if (c.t.length && t <= c.t[c.t.length - 1]!) return c;
  const cutoff = Date.now() / 1000 - range.seconds;
  let skip = 0;
  while (skip < c.t.length && c.t[skip]! < cutoff) skip++;
  const next = { t: [...c.t.slice(skip), t] } as Columns;
  for (const m of METRICS) {
    const v = s[m];
    const band = c[m];
    next[m] = { avg: [...band.avg.slice(skip), v], min: [...band.min.slice(skip), v], max: [...band.max.slice(skip), v] };
  }
  return next;
}

const COLORS = { a: '#3b82f6', b: '#f59e0b', c: '#ef4444', d: '#10b981' };

export function DeviceCharts({ id }: { id: string }) {
  const { api } = useSession();
  const [range, setRange] = useState<Range>(RANGES[0]);
  const [to, setTo] = useState(Date.now() / 1000);
  const { state: cols, error } = useLive<Columns>(
    api,
    [id, range],
    () => api.query<HistoryResult>(HISTORY, { id, from: new Date(Date.now() - range.seconds * 1000).toISOString() }).then((r) => fromBuckets(r.metricHistory)),
    (apply) => [
      api.subscribe<DeviceSamples>(DEVICE_SAMPLES, { id }, ({ metricCollected: s }) => {
        apply((c) => append(c, s, range));
        setTo(Date.now() / 1000);
      }),
    ],
  );
  useEffect(() => {
    const tick = setInterval(() => setTo(Date.now() / 1000), 30_000);
    return () => clearInterval(tick);
  }, []);

  const from = to - range.seconds;
  const charts = useMemo(() => {
    if (!cols) return null;
    const band = (m: Metric, label: string, color: string) => ({ label, color, ...cols[m] });
    const line = (m: Metric, label: string, color: string) => ({ label, color, avg: cols[m].avg });
    return [
      { title: 'CPU', yMax: 100, format: (v: number) => percent(v), series: [band('cpuPercent', 'total', COLORS.a), line('cpuIowaitPercent', 'iowait', COLORS.b), line('cpuStealPercent', 'steal', COLORS.c)] },
      { title: 'Memory', yMax: 100, format: (v: number) => percent(v), series: [band('memUsedPercent', 'used', COLORS.d)] },
      { title: 'Load', format: (v: number) => fixed(v), series: [band('load1', '1 min', COLORS.a), line('load5', '5 min', COLORS.b), line('load15', '15 min', COLORS.c)] },
      { title: 'Network', format: rate, series: [band('netRxBytesPerSec', 'received', COLORS.a), band('netTxBytesPerSec', 'sent', COLORS.b)] },
      { title: 'Disk I/O', format: rate, series: [band('diskReadBytesPerSec', 'read', COLORS.a), band('diskWriteBytesPerSec', 'written', COLORS.b)] },
    ];
  }, [cols]);

  return (
    <section class="charts" aria-label="Charts">
      <div class="ranges" role="group" aria-label="Range">
        {RANGES.map((r) => (
          <button type="button" key={r.label} aria-pressed={r === range} class={r === range ? 'active' : ''} onClick={() => setRange(r)}>
            {r.label}
          </button>
        ))}
      </div>
      {error && <Notice kind="error">History could not be loaded: {error}</Notice>}
      {!cols && !error && <Notice>Loading history…</Notice>}
      <div class="chart-grid">
        {charts?.map((c) => (
          <TimeChart key={c.title} title={c.title} times={cols!.t} series={c.series} format={c.format} yMax={c.yMax} from={from} to={to} />
        ))}
      </div>
    </section>
  );
}
