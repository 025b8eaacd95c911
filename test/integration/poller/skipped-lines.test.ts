// Issue #14 item 9: a line a parser does not recognise is skipped and reported at debug level;
// the poll stays OK.
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/index.ts';
import { createLogger } from '../../../src/log.ts';
import { createPoller } from '../../../src/poller/index.ts';
import type { CommandRunner } from '../../../src/transport/types.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { captured } from '../../helpers/fixtures.ts';
import { newBus, tempDir, testConfig, testSecrets } from './setup.ts';

let db: Database & { name: string };
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = tempDir('infrapulse-skipped-');
});
afterAll(async () => {
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('lines the parsers skip', () => {
  it('are logged at debug level with collector, section and line, and the poll is OK', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const log = createLogger('debug', sink);
    const stdout = captured('system-poll-1.txt').replace('@@ip:meminfo\n', '@@ip:meminfo\nIon heap usage: 1024 pages\n');
    const runner: CommandRunner = { exec: async () => ({ stdout, stderr: '', code: 0 }), close: async () => {} };
    const device = await db.prisma.device.create({ data: { name: 'odd-meminfo', hostname: '10.9.9.9', username: 'x' } });
    const poller = createPoller({
      config: testConfig(dataDir),
      db,
      events: newBus(),
      log,
      secrets: testSecrets(),
      runnerFactory: () => runner,
      tuning: { spoolDir: `${dataDir}/spool` },
    });
    await poller.start();
    const outcome = await poller.pollNow(device.id, ['system']);
    await poller.stop();
    expect(outcome.outcomes).toEqual([{ collector: 'system', kind: 'ok', problems: [] }]);
    const line = lines.find((l) => l.msg === 'skipped unrecognised lines');
    expect(line).toMatchObject({
      level: 20,
      deviceId: device.id,
      collector: 'system',
      skipped: [{ section: 'meminfo', line: 1, text: 'Ion heap usage: 1024 pages', reason: 'expected "Key: <number> [kB]" line' }],
    });
  });
});
