/**
 * Device tags for subscription filters, kept in memory so an event is matched without a
 * query: loaded whole on first use, one device reloaded on each `deviceChanged` event (API
 * mutations publish it; over Redis every instance hears it), and reloaded whole every minute
 * as a backstop for changes made outside the API (SQL, another instance without Redis).
 */
import type { Database } from '../db/index.ts';
import type { EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';

export interface DeviceTags {
  /** Resolves once the first load is done (rejects if it failed; the next call tries again). */
  ready(): Promise<void>;
  /** The device's tags; empty for a device the cache does not know. */
  of(deviceId: string): readonly string[];
  /** Every known device carrying any of `tags`. */
  carrying(tags: readonly string[]): string[];
}

const REFRESH_MS = 60_000;
const NONE: readonly string[] = [];
const caches = new WeakMap<Database, DeviceTags>();

/** The one cache per database (every request's context shares its services' Database). */
export function deviceTags(db: Database, events: EventBus, log: Logger): DeviceTags {
  let cache = caches.get(db);
  if (!cache) {
    cache = createDeviceTags(db, events, log);
    caches.set(db, cache);
  }
  return cache;
}

function createDeviceTags(db: Database, events: EventBus, log: Logger): DeviceTags {
  let tags = new Map<string, readonly string[]>();
  let loading: Promise<void> | undefined;
  let loadedAt = 0;

  const loadAll = (): Promise<void> => {
    loading ??= db.prisma.device
      .findMany({ select: { id: true, tags: true } })
      .then((rows) => {
        tags = new Map(rows.map((r) => [r.id, r.tags]));
        loadedAt = Date.now();
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };

  events.listen('deviceChanged', ({ deviceId }) => {
    db.prisma.device
      .findUnique({ where: { id: deviceId }, select: { tags: true } })
      .then((row) => {
        if (row) tags.set(deviceId, row.tags);
        else tags.delete(deviceId);
      })
      .catch((err: unknown) => log.warn({ err, deviceId }, 'could not reload a device\'s tags for subscription filters'));
  });

  return {
    async ready() {
      if (loadedAt === 0) return loadAll();
      if (Date.now() - loadedAt > REFRESH_MS) {
        // Stale but usable: refresh in the background.
        loadAll().catch((err: unknown) => log.warn({ err }, 'could not refresh device tags for subscription filters'));
      }
    },
    of: (deviceId) => tags.get(deviceId) ?? NONE,
    carrying: (wanted) => [...tags].filter(([, t]) => wanted.some((w) => t.includes(w))).map(([id]) => id),
  };
}
