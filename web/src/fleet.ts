/**
 * The fleet as the overview shows it: one mutable row per device, updated in place by live
 * samples and status events, and a tiny cost per event (a thousand devices at a hundred
 * samples a second). Views are told at most once per animation frame; `structure` changes only
 * when something that filters, counts or orders rows by name or status changes.
 */
import type { Api } from './api/client.ts';
import { allPages } from './api/paging.ts';
import {
  FLEET,
  FLEET_PAGES,
  FLEET_DEVICE_ONE,
  LIVE_FILESYSTEMS,
  LIVE_SAMPLES,
  LIVE_STATUS,
  type DeviceStatus,
  type FleetDevice,
  type FleetDeviceOne,
  type FleetPage,
  type LiveFilesystems,
  type LiveSample,
  type LiveSamples,
  type LiveStatus,
} from './api/documents.ts';

/** Points in each row's sparkline (the latest samples, oldest first). */
export const SPARK_POINTS = 60;

export interface FleetRow {
  id: string;
  name: string;
  hostname: string;
  status: DeviceStatus;
  lastSeen: number | null;
  tags: string[];
  cpu: number | null;
  mem: number | null;
  /** The fullest filesystem's used %. */
  fs: number | null;
  load: number | null;
  /** Time of the sample cpu/mem/load come from (ms): an older one never overwrites it. */
  sampleAt: number;
  /** CPU % ring buffer. */
  spark: Float32Array;
  sparkLen: number;
  sparkHead: number;
  /** Bumped on every change of this row: rows re-render only when it moves. */
  rev: number;
  /** Lower-cased name, host name and tags, for the text filter. */
  haystack: string;
}

const fullest = (filesystems: { usedPercent: number }[]): number | null =>
  filesystems.reduce<number | null>((m, f) => (m === null || f.usedPercent > m ? f.usedPercent : m), null);

function haystack(d: Pick<FleetRow, 'name' | 'hostname' | 'tags'>): string {
  return `${d.name}\n${d.hostname}\n${d.tags.join('\n')}`.toLowerCase();
}

export function sparkValues(row: FleetRow): number[] {
  const out: number[] = [];
  for (let i = 0; i < row.sparkLen; i++) out.push(row.spark[(row.sparkHead - row.sparkLen + i + SPARK_POINTS) % SPARK_POINTS]!);
  return out;
}

function pushSpark(row: FleetRow, v: number): void {
  row.spark[row.sparkHead] = v;
  row.sparkHead = (row.sparkHead + 1) % SPARK_POINTS;
  row.sparkLen = Math.min(row.sparkLen + 1, SPARK_POINTS);
}

/** Applies a sample newer than the row's; false for an older or repeated one. */
function applySample(row: FleetRow, s: LiveSample): boolean {
  const at = Date.parse(s.time);
  if (!(at > row.sampleAt)) return false;
  row.sampleAt = at;
  row.cpu = s.cpuPercent;
  row.mem = s.memUsedPercent;
  row.load = s.load1;
  if (s.cpuPercent !== null) pushSpark(row, s.cpuPercent);
  return true;
}

export class FleetStore {
  readonly rows = new Map<string, FleetRow>();
  /** Any change at all. */
  version = 0;
  /** Membership, names, tags or statuses changed. */
  structure = 0;
  loaded = false;
  error: string | null = null;
  private listeners = new Set<() => void>();
  private frame = 0;

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(structural: boolean): void {
    this.version++;
    if (structural) this.structure++;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const l of this.listeners) l();
    });
  }

  upsert(d: FleetDevice): void {
    const known = this.rows.get(d.id);
    const fs = fullest(d.filesystems);
    const row: FleetRow = known ?? {
      id: d.id,
      name: d.name,
      hostname: d.hostname,
      status: d.status,
      lastSeen: null,
      tags: d.tags,
      cpu: null,
      mem: null,
      fs: null,
      load: null,
      sampleAt: 0,
      spark: new Float32Array(SPARK_POINTS),
      sparkLen: 0,
      sparkHead: 0,
      rev: 0,
      haystack: '',
    };
    Object.assign(row, { name: d.name, hostname: d.hostname, status: d.status, tags: d.tags, fs, haystack: haystack(d) });
    row.lastSeen = Math.max(row.lastSeen ?? 0, d.lastSeenAt ? Date.parse(d.lastSeenAt) : 0) || null;
    if (d.latestMetrics) applySample(row, d.latestMetrics);
    row.rev++;
    this.rows.set(d.id, row);
    this.changed(true);
  }

  /** One page of a full load: shown at once, so the first screenful does not wait for the rest. */
  page(devices: FleetDevice[]): void {
    for (const d of devices) this.upsert(d);
    this.loaded = true;
    this.error = null;
    this.changed(true);
  }

  /** After a full load: devices gone from it (deleted) are dropped. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.rows.keys()) if (!ids.has(id)) this.rows.delete(id);
    this.changed(true);
  }

  /** False when the device is not known yet. */
  sample(s: LiveSample): boolean {
    const row = this.rows.get(s.deviceId);
    if (!row) return false;
    if (!applySample(row, s)) return true;
    row.lastSeen = Math.max(row.lastSeen ?? 0, row.sampleAt);
    row.rev++;
    this.changed(false);
    return true;
  }

  /** False when the device is not known yet. */
  filesystems(deviceId: string, filesystems: { usedPercent: number }[]): boolean {
    const row = this.rows.get(deviceId);
    if (!row) return false;
    row.fs = fullest(filesystems);
    row.rev++;
    this.changed(false);
    return true;
  }

  status(deviceId: string, status: DeviceStatus): boolean {
    const row = this.rows.get(deviceId);
    if (!row) return false;
    row.status = status;
    row.rev++;
    this.changed(true);
    return true;
  }

  fail(message: string): void {
    this.error = message;
    this.changed(true);
  }
}

/** How often the list itself is reloaded: devices deleted (or renamed, retagged) have no subscription. */
const RELOAD_MS = 60_000;

/** Every device, page by page into the store; returns the ids seen. */
async function loadAll(api: Api, onPage: (devices: FleetDevice[]) => void): Promise<Set<string>> {
  const all = await allPages(api, FLEET, (r: FleetPage) => r.devices, onPage, FLEET_PAGES);
  return new Set(all.map((d) => d.id));
}

/**
 * Loads the fleet and keeps it live until the returned function is called. A load starts once
 * the server listens on the subscriptions (`Api.subscribed`, as web/src/live.ts does), and a
 * status that changes while it is in flight is applied again over its pages, which may have
 * been read before it (samples carry their time and need no such care).
 */
export function runFleet(api: Api, store: FleetStore): () => void {
  let stopped = false;
  const fetching = new Set<string>();
  let loading: Promise<void> | null = null;
  /** Statuses changed since the load in flight began; null when none is. */
  let held: Map<string, DeviceStatus> | null = null;
  const onPage = (devices: FleetDevice[]) => {
    if (stopped) return;
    store.page(devices);
    for (const d of devices) {
      const status = held?.get(d.id);
      if (status) store.status(d.id, status);
    }
  };
  /** A reload asked for while one was in flight (a reconnect): its read may predate what the reconnect missed. */
  let again = false;
  const load = async (): Promise<void> => {
    do {
      again = false;
      held = new Map();
      await api.subscribed();
      await loadAll(api, onPage).then(
        (seen) => !stopped && store.retain(seen),
        (e: Error) => !stopped && store.fail(e.message),
      );
    } while (again && !stopped);
    loading = null;
    held = null;
  };
  const reload = (): Promise<void> => {
    if (loading) again = true;
    return (loading ??= load());
  };
  /** A device the list does not have yet (created since): fetch it once. */
  const discover = (id: string) => {
    if (fetching.has(id)) return;
    fetching.add(id);
    api.query<FleetDeviceOne>(FLEET_DEVICE_ONE, { id }).then(
      (r) => {
        fetching.delete(id);
        if (r.device && !stopped) store.upsert(r.device);
      },
      () => fetching.delete(id),
    );
  };
  const stops = [
    api.subscribe<LiveSamples>(LIVE_SAMPLES, {}, ({ metricCollected: s }) => {
      if (!store.sample(s)) discover(s.deviceId);
    }),
    api.subscribe<LiveFilesystems>(LIVE_FILESYSTEMS, {}, ({ filesystemsCollected: e }) => {
      if (!store.filesystems(e.deviceId, e.filesystems)) discover(e.deviceId);
    }),
    api.subscribe<LiveStatus>(LIVE_STATUS, {}, ({ deviceStatusChanged: e }) => {
      held?.set(e.deviceId, e.current);
      if (!store.status(e.deviceId, e.current)) discover(e.deviceId);
    }),
    // After a reconnect the events in between are lost: the list is the truth again.
    api.onResync(() => void reload()),
  ];
  void reload();
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') void reload();
  }, RELOAD_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
    for (const s of stops) s();
  };
}
