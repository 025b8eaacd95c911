/**
 * Child process for pool-errors.test.ts: a pool (createPool) whose idle connections the server
 * terminates ("terminating connection due to administrator command", as DROP DATABASE … WITH
 * (FORCE) or a PostgreSQL shutdown does). Prints "survived" when the process lives through it.
 */
import pg from 'pg';
import { createPool } from '../../../src/db/adapter.ts';

const [url, adminUrl] = process.argv.slice(2) as [string, string];
const pool = createPool(url, { max: 3 });
const pids = await Promise.all([0, 1, 2].map(async () => (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.1)')).rows[0]!.pid));
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
await admin.end();
// The idle clients hear of it asynchronously: give them time to.
await new Promise((r) => setTimeout(r, 1500));
// The pool reconnects for the next query.
const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
process.stdout.write(rows[0]?.one === 1 ? 'survived\n' : 'wrong answer\n');
await pool.end();
