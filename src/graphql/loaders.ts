/**
 * Request-scoped batch loaders for the latest time-series rows of many devices: every Device
 * field that needs "the latest X" (latestMetrics, corePercents, filesystems, …) goes through
 * one loader per table, so a list of N devices costs one query per table, not N.
 *
 * `cache: false`: loads still batch within a tick, but nothing is memoised. A subscription's
 * context lives as long as the subscription, and a memoised "latest" would go stale between
 * its events.
 */
import DataLoader from 'dataloader';
import { latestRows, type LatestRows } from '../storage/latest.ts';
import { perRequest, RequestKey, type Context } from './context.ts';

type Kind = keyof LatestRows;

export type LatestLoaders = { [K in Kind]: DataLoader<string, LatestRows[K][]> };

const LOADERS = new RequestKey<LatestLoaders>('latest loaders');

function loaderFor<K extends Kind>(ctx: Context, kind: K): DataLoader<string, LatestRows[K][]> {
  return new DataLoader<string, LatestRows[K][]>(
    async (ids) => {
      const unique = [...new Set(ids)];
      const rows = await latestRows(ctx.db.pool, kind, unique);
      const byDevice = new Map<string, LatestRows[K][]>();
      for (const row of rows) {
        const list = byDevice.get(row.deviceId);
        if (list) list.push(row);
        else byDevice.set(row.deviceId, [row]);
      }
      return ids.map((id) => byDevice.get(id) ?? []);
    },
    { cache: false, maxBatchSize: 5000 },
  );
}

export function latestLoaders(ctx: Context): LatestLoaders {
  return perRequest(ctx, LOADERS, () => ({
    system: loaderFor(ctx, 'system'),
    filesystems: loaderFor(ctx, 'filesystems'),
    networks: loaderFor(ctx, 'networks'),
    diskIo: loaderFor(ctx, 'diskIo'),
    drives: loaderFor(ctx, 'drives'),
    containers: loaderFor(ctx, 'containers'),
    pools: loaderFor(ctx, 'pools'),
    sensors: loaderFor(ctx, 'sensors'),
    gpus: loaderFor(ctx, 'gpus'),
  }));
}

/** The latest system sample of a device, or null before its first poll. */
export async function latestSystem(ctx: Context, deviceId: string): Promise<LatestRows['system'] | null> {
  return (await latestLoaders(ctx).system.load(deviceId))[0] ?? null;
}
