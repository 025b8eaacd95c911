/** A PostgreSQL of a test's own (not the run's shared one): it can be stopped for a real outage. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrateDeploy } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/log.ts';

/** A PostgreSQL of the test's own, restartable on the same port (clients reconnect by themselves). */
export interface OwnPostgres {
  readonly url: string;
  readonly running: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Started, and migrated when `migrate` is set. */
export async function ownPostgres(prefix: string, { migrate = false } = {}): Promise<OwnPostgres> {
  const log = createLogger('silent');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755); // the postgres user must reach its data dir when tests run as root
  let pg: EmbeddedPostgres | undefined = await startEmbeddedPostgres(dir, log);
  const port = pg.port;
  const url = pg.url;
  if (migrate) await migrateDeploy(url);
  return {
    url,
    get running() {
      return pg !== undefined;
    },
    async stop() {
      await pg?.stop();
      pg = undefined;
    },
    async start() {
      pg ??= await startEmbeddedPostgres(dir, log, { port });
    },
    async close() {
      await pg?.stop();
      pg = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
