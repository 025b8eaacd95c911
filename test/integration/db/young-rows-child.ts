/**
 * Child process for young-rows.test.ts: how many bytes of the rows queries return outlive a
 * scavenge, through a pool of createPool's (`via` pool) or on a client checked out of one
 * (`via` client, pg's promise API, as Prisma's adapter in a transaction). After `warm` queries of
 * 288 rows (a day in 5-minute buckets: a date and three floats each), one at a time, it measures
 * `measured` more (test/helpers/young-survivors.ts). Needs --expose-gc.
 */
import { closePool, createPool } from '../../../src/db/adapter.ts';
import { reportYoungSurvivors } from '../../helpers/young-survivors.ts';

const [url, via, warm = '200', measured = '400'] = process.argv.slice(2) as [string, 'pool' | 'client', string?, string?];
const SQL = `SELECT now() - g * interval '5 minutes' AS bucket, g AS samples, random() AS a, random() AS b, random() AS c FROM generate_series(1, 288) g`;

const pool = createPool(url, { max: 2 });
const client = via === 'client' ? await pool.connect() : null;
const on = client ?? pool;
for (let i = 0; i < Number(warm); i++) await on.query(SQL);
await reportYoungSurvivors(async () => {
  for (let i = 0; i < Number(measured); i++) await on.query(SQL);
});
client?.release();
await closePool(pool);
