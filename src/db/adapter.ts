import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import type { PrismaClient } from './generated/client.ts';
import type { TransactionClient } from './generated/internal/prismaNamespace.ts';

/**
 * Prisma's pg adapter rejects columns of type "char" and name (and their arrays), which the
 * JS migration engine reads from pg_catalog (prisma/orm#27403). Reporting them as text
 * is exactly right for those values, so the client rewrites their type ids on the way in.
 */
const TEXT_ALIASES: Record<number, number> = { 18: 25, 19: 25, 1002: 1009, 1003: 1009 };

type QueryResultLike = { fields?: { dataTypeID: number }[] };

function retype<T>(result: T): T {
  for (const field of (result as QueryResultLike).fields ?? []) {
    const alias = TEXT_ALIASES[field.dataTypeID];
    if (alias !== undefined) field.dataTypeID = alias;
  }
  return result;
}

type QueryCallback = (err: unknown, result: unknown) => void;

/*
 * The callbacks below are made by functions of their own, not inside query(). A closure made
 * inside query(), as pg's own promise path makes one, kept every query's rows alive through
 * the scavenges after it: 400 queries of 288 rows, one at a time, and 31-37 MB of rows outlived a
 * scavenge, through the pool or on a checked-out client; made here, none did (what in V8 holds
 * them was not identified). In the query bench every scavenge of the API server promoted 1.5-3
 * MB of rows and paused 6-12 ms (test/integration/db/young-rows.test.ts, docs/benchmarks.md).
 */

/** `callback` with the result retyped. */
const retyping =
  (callback: QueryCallback): QueryCallback =>
  (err, result) =>
    callback(err, err ? result : retype(result));

/** pg's query() on `client` with a callback, as a promise of the retyped result. */
const promised = (client: pg.Client, args: unknown[]): Promise<unknown> =>
  new Promise((resolve, reject) => (pg.Client.prototype.query as (...a: unknown[]) => unknown).apply(client, [...args, retyping((err, result) => (err ? reject(err) : resolve(result)))]));

class TextAliasingClient extends pg.Client {
  // pg's query() has many overloads: with a callback (pg.Pool's), a promise, or a submittable
  // (a Query object, a cursor, a COPY stream), which pg runs itself and results are not read from.
  override query(...args: unknown[]): never {
    const [first] = args;
    const last = args.at(-1);
    const submittable = typeof (first as { submit?: unknown } | null | undefined)?.submit === 'function';
    if (typeof last === 'function') args[args.length - 1] = retyping(last as QueryCallback);
    else if (first != null && !submittable) return promised(this, args) as never;
    return (super.query as (...a: unknown[]) => unknown)(...args) as never;
  }
}

/** Per pool: its clients whose connection is still open (closePool waits for them). */
const openClients = new WeakMap<pg.Pool, Set<pg.PoolClient>>();

/**
 * An idle connection the server ends (a restart, DROP DATABASE … WITH (FORCE)) is an 'error'
 * on the pool, which crashes the process without a listener; so every pool has one, calling
 * `onIdleError` (default: nothing; the pool drops that client and the next query reconnects).
 * pg-pool hangs the client on the error as `err.client`, and a client carries its password:
 * removed before anyone can print it.
 */
export function createPool(connectionString: string, options: pg.PoolConfig = {}, onIdleError: (err: Error) => void = () => undefined): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: 10, ...options, Client: TextAliasingClient });
  const open = new Set<pg.PoolClient>();
  openClients.set(pool, open);
  pool.on('connect', (client) => open.add(client));
  pool.on('remove', (client) => open.delete(client)); // after the client's connection has closed
  pool.on('error', (err) => {
    delete (err as Error & { client?: unknown }).client;
    onIdleError(err);
  });
  return pool;
}

/**
 * pool.end() resolves as soon as it has asked its connections to close, before the server has
 * let go of them: a DROP DATABASE or a server stop right after would still find (and
 * terminate) them. This waits until every connection is really closed (at most `ms`).
 */
export async function closePool(pool: pg.Pool, ms = 5000): Promise<void> {
  if (!pool.ended && !pool.ending) await pool.end();
  const open = openClients.get(pool);
  const until = Date.now() + ms;
  while (open && open.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

/** The connection a transaction runs on, and whether its server takes COPY FROM STDIN. */
export interface TransactionConnection {
  client: pg.PoolClient;
  copyFromStdin: boolean;
}

interface Slot {
  connection?: TransactionConnection;
  waiting: boolean;
}

/**
 * Set around a $transaction by onTransactionConnection: where the adapter says which connection
 * it took. Switched on only while some transaction waits for its connection: an enabled
 * AsyncLocalStorage makes Node 20 run a hook for every promise the process creates, in the
 * poller's collectors and the API's resolvers alike (an async call with two awaits took 1.0-1.5
 * µs instead of 0.4-0.5 in a probe here), while a flush waits for its connection a few
 * milliseconds four times a second.
 */
const transactionSlot = new AsyncLocalStorage<Slot>();
let waitingSlots = 0;

function stopWaiting(slot: Slot): void {
  if (!slot.waiting) return;
  slot.waiting = false;
  if (--waitingSlots === 0) transactionSlot.disable();
}

/** Transactions of onTransactionConnection still waiting for their connection (0 when none runs). */
export const transactionsWaiting = (): number => waitingSlots;

/**
 * An interactive Prisma transaction that also hands `fn` the pool connection it runs on, for
 * what Prisma cannot send itself (COPY FROM STDIN: prisma/orm#21668). Whatever `fn` sends on
 * that client is inside the same transaction as its Prisma statements; it must not be used
 * after `fn` returns. The adapter's startTransaction (below) puts the connection it checked out
 * in the slot of the $transaction call that asked for it: Prisma's client engine runs in
 * JavaScript, so that call's async context reaches the adapter.
 */
export async function onTransactionConnection<T>(
  prisma: PrismaClient,
  fn: (tx: TransactionClient, connection: TransactionConnection) => Promise<T>,
  options: { maxWait?: number; timeout?: number } = {},
): Promise<T> {
  const slot: Slot = { waiting: true };
  waitingSlots++;
  try {
    return await transactionSlot.run(slot, () =>
      prisma.$transaction(async (tx) => {
        if (!slot.connection) throw new Error('the Prisma client was not built on createAdapter: no connection for the transaction');
        return fn(tx, slot.connection);
      }, options),
    );
  } finally {
    // The adapter stopped it when it took the connection; a transaction that never started
    // (maxWait passed, the database is gone, not our adapter) stops waiting here.
    stopWaiting(slot);
  }
}

type Transaction = Awaited<ReturnType<Awaited<ReturnType<PrismaPg['connect']>>['startTransaction']>>;

/**
 * Prisma sends COMMIT or ROLLBACK, then asks the adapter to release the connection; when that
 * statement fails (the server went away mid-transaction, or terminated the session) it never
 * asks, and the pool loses a connection for good: after max such outages every flush would
 * wait for one forever. Here the failed statement releases it, as broken, so the pool
 * discards it; Prisma forgets the transaction after such a failure and never ends it again.
 */
function releaseWhenEndFails(tx: Transaction, client: pg.PoolClient): void {
  const executeRaw = tx.executeRaw.bind(tx);
  tx.executeRaw = async (query) => {
    try {
      return await executeRaw(query);
    } catch (error) {
      if (query.sql === 'COMMIT' || query.sql === 'ROLLBACK') client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  };
}

/**
 * The pg adapter runs migration scripts by splitting them on every ";", which breaks DO
 * blocks and functions (and comments with a semicolon). PostgreSQL runs a multi-statement
 * script natively, in one implicit transaction, so a migration applies whole or not at all.
 * It also tells onTransactionConnection which connection a transaction got.
 */
class WholeScriptPg extends PrismaPg {
  constructor(
    pool: pg.Pool,
    private readonly copyFromStdin: boolean,
  ) {
    super(pool);
  }

  override async connect(): ReturnType<PrismaPg['connect']> {
    const adapter = await super.connect();
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => {
      const tx = await startTransaction(isolationLevel);
      const client = (tx as unknown as { client: pg.PoolClient }).client;
      releaseWhenEndFails(tx, client);
      const slot = transactionSlot.getStore();
      if (slot && !slot.connection) {
        slot.connection = { client, copyFromStdin: this.copyFromStdin };
        stopWaiting(slot);
      }
      return tx;
    };
    const pool = adapter.underlyingDriver() as pg.Pool;
    const toDriverError = (adapter as unknown as { onError(e: unknown): never }).onError.bind(adapter);
    adapter.executeScript = async (script: string) => {
      try {
        await pool.query(script);
      } catch (error) {
        toDriverError(error);
      }
    };
    return adapter;
  }
}

/**
 * `copyFromStdin: false` for a server that cannot take COPY FROM STDIN: the test suite's
 * TimescaleDB, PGlite behind its socket server, drops the connection on a CopyData message.
 * PostgreSQL and TimescaleDB servers all can.
 */
export function createAdapter(pool: pg.Pool, { copyFromStdin = true }: { copyFromStdin?: boolean } = {}): PrismaPg {
  return new WholeScriptPg(pool, copyFromStdin);
}
