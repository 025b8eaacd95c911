// Sample events from a real poll (the local runner): every kind is published after its rows are
// committed, each with a cursor pointing at its rows, and a replayed duplicate is not announced.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/index.ts';
import { createLogger } from '../../../src/log.ts';
import { createPoller } from '../../../src/poller/index.ts';
import { publishCommitted } from '../../../src/poller/publish.ts';
import { writeBatch } from '../../../src/storage/index.ts';
import { emptyBatch } from '../../../src/storage/types.ts';
import { createLocalRunner } from '../../../src/transport/local.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { systemRow } from '../../helpers/rows.ts';
import { openEventBus, type Topic } from '../../../src/events/index.ts';
import { fullPoll } from '../../helpers/rows.ts';
import { newBus, recordEvents, tempDir, testConfig, testSecrets, until } from './setup.ts';

const log = createLogger('silent');
let db: Database & { name: string };
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = tempDir('infrapulse-publish-');
});
afterAll(async () => {
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('after-commit sample events', () => {
  it('a system poll publishes metricCollected and the per-subject kinds, each visible in SQL with its seq when it arrives', async () => {
    const device = await db.prisma.device.create({ data: { name: 'here', hostname: 'localhost', username: 'x', transport: 'LOCAL' } });
    const events = newBus();
    const checks: string[] = [];
    const visible = async (table: string, deviceId: string, seq: number | undefined) => {
      const { rows } = await db.pool.query('SELECT 1 FROM ' + table + ' WHERE device_id = $1 AND seq = $2', [deviceId, seq]);
      checks.push(`${table}:${rows.length > 0}`);
    };
    const metrics = recordEvents(events, 'metricCollected', (e) => visible('system_metrics', e.deviceId, e.seq));
    const filesystems = recordEvents(events, 'filesystemsCollected', (e) => visible('filesystem_metrics', e.deviceId, e.seq));
    const networks = recordEvents(events, 'networkInterfacesCollected', (e) => visible('network_metrics', e.deviceId, e.seq));
    const poller = createPoller({ config: testConfig(dataDir), db, events, log, secrets: testSecrets(), runnerFactory: () => createLocalRunner(), tuning: { spoolDir: `${dataDir}/spool` } });
    await poller.start();
    try {
      const outcome = await poller.pollNow(device.id, ['system']);
      expect(outcome.write).toBe('committed');
      await until(() => metrics.seen.length === 1 && filesystems.seen.length === 1 && networks.seen.length === 1, 'one event of each kind');
      await until(() => checks.length === 3, 'the visibility checks');
      expect(checks.sort()).toEqual(['filesystem_metrics:true', 'network_metrics:true', 'system_metrics:true']);
      expect(metrics.seen[0]!.sample.seq).toBe(metrics.seen[0]!.seq);
      const stored = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM filesystem_metrics WHERE device_id = $1', [device.id]);
      expect(filesystems.seen[0]!.rows).toHaveLength(Number(stored.rows[0]!.n));
    } finally {
      await poller.stop();
      for (const r of [metrics, filesystems, networks]) await r.stop();
    }
  });

  it('rows the database already held (a replay after an outage) are not announced again', async () => {
    const events = newBus();
    const heard = recordEvents(events, 'metricCollected');
    const row = systemRow('replayed', new Date(Date.UTC(2026, 10, 27, 9)));
    for (let i = 0; i < 2; i++) {
      const batch = emptyBatch();
      batch.system = [row];
      await writeBatch(db.prisma, batch);
      publishCommitted(events, batch);
    }
    await until(() => heard.seen.length > 0, 'the first event');
    await new Promise((r) => setTimeout(r, 100));
    expect(heard.seen).toHaveLength(1);
    await heard.stop();
  });

  it('builds no event nobody in this process would receive: none with no subscription open, only the subscribed topic with one, none again once it closed', async () => {
    const published: Topic[] = [];
    const { bus } = await openEventBus({ onPublish: (topic) => published.push(topic) });
    const pollAt = async (ms: number) => {
      const batch = fullPoll('listening', new Date(Date.UTC(2026, 10, 28, 9, 0, 0, ms)));
      await writeBatch(db.prisma, batch);
      publishCommitted(bus, batch);
    };
    await pollAt(0);
    expect(published).toEqual([]);

    const drives = recordEvents(bus, 'drivesCollected');
    await until(() => bus.listening('drivesCollected'), 'the subscription to be open');
    expect(bus.listening('metricCollected')).toBe(false);
    await pollAt(1);
    await until(() => drives.seen.length === 1, 'the drives event');
    expect(new Set(published)).toEqual(new Set(['drivesCollected']));

    await drives.stop();
    expect(bus.listening('drivesCollected')).toBe(false);
    published.length = 0;
    await pollAt(2);
    expect(published).toEqual([]);
  });
});
