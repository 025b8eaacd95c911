/**
 * The Drive type answers the same for a freshly collected row, as drivesCollected delivers it
 * live (smartctl's output still as the text smartctl printed, issue 16), and for the same row
 * read back from PostgreSQL (jsonb parsed by pg). Real app, real graphql-sse client.
 */
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { publishCommitted } from '../../../src/poller/publish.ts';
import { writeBatch } from '../../../src/storage/index.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { corpusIt, fixture } from '../../helpers/fixtures.ts';
import { batchOf, collectedDriveRow } from '../../helpers/rows.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
  await app.db.prisma.device.create({ data: { id: 'gql-drive', name: 'gql-drive', hostname: 'g.lan', username: 'm' } });
});
afterAll(async () => app?.close());

const DRIVE = 'drive health healthReasons crcErrors selfTests { kind status passed lifetimeHours } attributesJson';
type Drive = { healthReasons: string[]; crcErrors: number | null; selfTests: unknown[]; attributesJson: string | null };

describe('Drive from a live row and from a stored one', () => {
  corpusIt('same reasons, CRC errors and self-tests; a live row\'s attributesJson is the collected text as is', async () => {
    const row = collectedDriveRow('gql-drive', new Date(Date.now() - 60_000), fixture('smartctl/sata-hdd-wd140edfz-a.json'));
    const batch = batchOf({ drives: [row] });
    expect(await writeBatch(app.db.prisma, batch)).toBe(1);

    const client = createClient({ url: `${app.server.url}/graphql/stream`, headers: { authorization: `Bearer ${app.adminToken}` }, retryAttempts: 0 });
    const live: Drive[] = [];
    const unsubscribe = client.subscribe<{ drivesCollected: { drives: Drive[] } }>(
      { query: `subscription { drivesCollected(deviceId: "gql-drive") { drives { ${DRIVE} } } }` },
      { next: (v) => void live.push(...(v.data?.drivesCollected.drives ?? [])), error: (e) => void live.push({ error: e } as never), complete: () => {} },
    );
    try {
      // Published until heard: the subscription is in place some time after subscribe() returns.
      for (let i = 0; i < 100 && live.length === 0; i++) {
        publishCommitted(app.services.events, batch);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      unsubscribe();
      client.dispose();
    }
    const res = await app.gql<{ device: { drives: Drive[] } }>(`{ device(id: "gql-drive") { drives { ${DRIVE} } } }`);
    expect(res.body.errors).toBeUndefined();
    const stored = res.body.data!.device.drives[0]!;

    expect(live[0]).toBeDefined();
    const { attributesJson: liveJson, ...liveRest } = live[0]!;
    const { attributesJson: storedJson, ...storedRest } = stored;
    expect(liveRest).toEqual(storedRest);
    expect(stored.crcErrors).toBe(0);
    expect(stored.selfTests).toHaveLength(21);
    expect(liveJson).toBe(row.attributes);
    expect(JSON.parse(liveJson!)).toEqual(JSON.parse(storedJson!));
  });
});
