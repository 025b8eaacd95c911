/**
 * Errors in a real outage's log lines are readable (issue #14, item 5): `infrapulse serve`
 * monitors its own machine while its PostgreSQL is stopped; errors logged as strings (the
 * writer's "database unreachable", a dying idle connection) must appear as text, never spread
 * one character per key (`"err":{"0":"t","1":"e",…}`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ownPostgres, startServe, until, type OwnPostgres, type Serve } from './support.ts';

let db: OwnPostgres;
let serve: Serve | undefined;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-errlog-'));

beforeAll(async () => {
  db = await ownPostgres('infrapulse-errlog-pg-');
}, 120_000);

afterAll(async () => {
  serve?.child.kill('SIGKILL');
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('error log lines during a database outage', () => {
  test('carry string errors as text, not one character per key', { timeout: 120_000 }, async () => {
    serve = await startServe({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      INFRAPULSE_SECRET_KEY: 'b'.repeat(64),
      MONITOR_LOCALHOST: 'true',
      POLLING_SYSTEM_METRICS_INTERVAL: '5',
      POLLING_CONTAINER_INTERVAL: '86400',
      POLLING_DRIVE_HEALTH_INTERVAL: '86400',
    });
    const s = serve;
    await until(() => s.lines.length > 0, 'the server to log', 30_000);
    await db.stop();
    const outage = () => s.lines.find((l) => String(l.msg).startsWith('database unreachable'));
    await until(() => outage() !== undefined, 'the writer to log the outage', 60_000);

    const withErr = s.lines.filter((l) => l.err !== undefined);
    expect(withErr.length).toBeGreaterThan(0);
    const spread = s.lines.filter((l) => /"err":\{"0":/.test(JSON.stringify(l)));
    expect(spread.map((l) => l.msg)).toEqual([]);
    const err = outage()!.err;
    const text = typeof err === 'string' ? err : String((err as { message?: unknown }).message);
    expect(text.length).toBeGreaterThan(3);
    expect(text).not.toBe('undefined');
  });
});
