/**
 * The fleet at a glance: counts by status, filters, sorting, and one row per device with live
 * numbers and a sparkline. Only the rows in view exist in the DOM (windowed rendering), and a
 * row re-renders only when its device changed: a thousand devices at a hundred samples a second
 * cost a few row updates per frame.
 */
import { Component } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { DEVICE_STATUSES, type DeviceStatus } from '../api/documents.ts';
import { Link, Notice, StatusBadge } from '../components/common.tsx';
import { Sparkline } from '../components/sparkline.tsx';
import type { FleetRow, FleetStore } from '../fleet.ts';
import { ago, fixed, percent } from '../format.ts';
import { devicePath } from '../router.ts';
import { useSession } from '../session.ts';

export const ROW_HEIGHT = 40;
/** Rows rendered beyond the visible ones on each side, so fast scrolling shows no gaps. */
const OVERSCAN = 8;

type SortKey = 'name' | 'status' | 'lastSeen' | 'cpu' | 'mem' | 'fs' | 'load';
const LIVE_KEYS: ReadonlySet<SortKey> = new Set(['lastSeen', 'cpu', 'mem', 'fs', 'load']);

/** Worst first when sorting by status. */
const STATUS_RANK: Record<DeviceStatus, number> = { OFFLINE: 0, AUTH_FAILED: 1, HOST_KEY_MISMATCH: 2, DEGRADED: 3, UNKNOWN: 4, ONLINE: 5, DISABLED: 6 };

const COLUMNS: { key: SortKey; label: string; num?: boolean }[] = [
  { key: 'name', label: 'Device' },
  { key: 'status', label: 'Status' },
  { key: 'lastSeen', label: 'Last seen' },
  { key: 'cpu', label: 'CPU', num: true },
  { key: 'mem', label: 'Memory', num: true },
  { key: 'fs', label: 'Fullest FS', num: true },
  { key: 'load', label: 'Load', num: true },
];

function compare(key: SortKey): (a: FleetRow, b: FleetRow) => number {
  if (key === 'name') return (a, b) => a.name.localeCompare(b.name);
  if (key === 'status') return (a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || a.name.localeCompare(b.name);
  // Unknown values sort last in either direction's natural reading: treat them as lowest.
  return (a, b) => (a[key] ?? -1) - (b[key] ?? -1) || a.name.localeCompare(b.name);
}

function useStore(store: FleetStore): number {
  const [, setVersion] = useState(store.version);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  return store.version;
}

/** Re-renders every second (relative times, and re-sorting by live numbers). */
function useClock(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

interface RowProps {
  row: FleetRow;
  rev: number;
  now: number;
  index: number;
}

class Row extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const p = this.props;
    return next.row !== p.row || next.rev !== p.rev || next.index !== p.index || Math.floor(next.now / 1000) !== Math.floor(p.now / 1000);
  }
  override render({ row, rev, now, index }: RowProps) {
    return (
      <div role="row" class="row" aria-rowindex={index + 2} data-device-id={row.id}>
        <div role="cell" class="c-name">
          <Link href={devicePath(row.id)}>{row.name}</Link>
          <span class="host">{row.hostname}</span>
        </div>
        <div role="cell" class="c-status">
          <StatusBadge status={row.status} />
        </div>
        <div role="cell" class="c-seen">{ago(row.lastSeen, now)}</div>
        <div role="cell" class="c-num c-cpu">{percent(row.cpu)}</div>
        <div role="cell" class="c-num c-mem">{percent(row.mem)}</div>
        <div role="cell" class="c-num c-fs">{percent(row.fs)}</div>
        <div role="cell" class="c-num c-load">{fixed(row.load)}</div>
        <div role="cell" class="c-spark">
          <Sparkline row={row} rev={rev} />
        </div>
      </div>
    );
  }
}

interface Filter {
  text: string;
  status: DeviceStatus | '';
  tag: string;
}

/** Counts by status (each a filter button), the text, status and tag filters, and how many rows show. */
function FleetFilters(p: { all: number; shown: number; counts: Map<DeviceStatus, number>; tags: string[]; filter: Filter; setFilter: (f: Filter) => void }) {
  const { filter, setFilter } = p;
  const set = (change: Partial<Filter>) => setFilter({ ...filter, ...change });
  return (
    <>
      <div class="overview-head">
        <h1>Fleet</h1>
        <div class="counts" role="group" aria-label="Devices by status">
          <button type="button" class={`count ${filter.status === '' ? 'active' : ''}`} aria-pressed={filter.status === ''} onClick={() => set({ status: '' })}>
            All <b>{p.all}</b>
          </button>
          {DEVICE_STATUSES.filter((s) => p.counts.get(s)).map((s) => (
            <button type="button" key={s} class={`count st-${s} ${filter.status === s ? 'active' : ''}`} aria-pressed={filter.status === s} onClick={() => set({ status: filter.status === s ? '' : s })}>
              {s} <b>{p.counts.get(s)}</b>
            </button>
          ))}
        </div>
      </div>
      <div class="filters">
        <input type="search" aria-label="Filter devices" placeholder="Filter by name, host or tag" value={filter.text} onInput={(e) => set({ text: e.currentTarget.value })} />
        <select aria-label="Status" value={filter.status} onChange={(e) => set({ status: e.currentTarget.value as DeviceStatus | '' })}>
          <option value="">Any status</option>
          {DEVICE_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select aria-label="Tag" value={filter.tag} onChange={(e) => set({ tag: e.currentTarget.value })}>
          <option value="">Any tag</option>
          {p.tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <span class="shown">
          {p.shown} of {p.all} devices
        </span>
      </div>
    </>
  );
}

export function Overview() {
  const { fleet } = useSession();
  const version = useStore(fleet);
  const now = useClock();
  const [filter, setFilter] = useState<Filter>({ text: '', status: '', tag: '' });
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useEffect(() => {
    const el = viewport.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const all = useMemo(() => [...fleet.rows.values()], [fleet.structure]);
  const counts = useMemo(() => {
    const c = new Map<DeviceStatus, number>();
    for (const r of all) c.set(r.status, (c.get(r.status) ?? 0) + 1);
    return c;
  }, [all, fleet.structure]);
  const tags = useMemo(() => [...new Set(all.flatMap((r) => r.tags))].sort(), [all]);
  // Live sort keys re-sort once a second, not on every sample: rows must not jump under the pointer.
  const sortClock = LIVE_KEYS.has(sort.key) ? Math.floor(now / 1000) : 0;
  const rows = useMemo(() => {
    const { status, tag } = filter;
    const needle = filter.text.trim().toLowerCase();
    const shown = all.filter((r) => (!status || r.status === status) && (!tag || r.tags.includes(tag)) && (!needle || r.haystack.includes(needle)));
    const cmp = compare(sort.key);
    shown.sort(sort.desc ? (a, b) => cmp(b, a) : cmp);
    return shown;
  }, [all, fleet.structure, filter, sort, sortClock]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const visible = rows.slice(first, last);

  const toggleSort = (key: SortKey) => setSort((s) => (s.key === key ? { key, desc: !s.desc } : { key, desc: LIVE_KEYS.has(key) }));

  return (
    <section class="overview" data-version={version}>
      <FleetFilters all={all.length} shown={rows.length} counts={counts} tags={tags} filter={filter} setFilter={setFilter} />
      {fleet.error && <Notice kind="error">The fleet could not be loaded: {fleet.error}</Notice>}
      <div class="table" role="table" aria-label="Devices" aria-rowcount={rows.length + 1}>
        <div role="rowgroup">
          <div role="row" class="row head" aria-rowindex={1}>
            {COLUMNS.map((c) => (
              <div role="columnheader" key={c.key} class={c.num ? 'c-num' : ''} aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                <button type="button" onClick={() => toggleSort(c.key)}>
                  {c.label}
                  {sort.key === c.key ? (sort.desc ? ' ▾' : ' ▴') : ''}
                </button>
              </div>
            ))}
            <div role="columnheader" class="c-spark">
              CPU trend
            </div>
          </div>
        </div>
        <div class="viewport" ref={viewport} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
          <div role="rowgroup" class="rows" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>
            <div class="window" style={{ transform: `translateY(${first * ROW_HEIGHT}px)` }}>
              {visible.map((r, i) => (
                <Row key={r.id} row={r} rev={r.rev} now={now} index={first + i} />
              ))}
            </div>
          </div>
          {fleet.loaded && all.length === 0 && <Notice>No devices yet.</Notice>}
          {!fleet.loaded && !fleet.error && <Notice>Loading the fleet…</Notice>}
        </div>
      </div>
    </section>
  );
}
