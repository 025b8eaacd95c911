import { openDatabase } from './src/db/index.ts';
import { createLogger } from './src/log.ts';
import { copySystemRows } from './bench/copy.ts';
import { benchDeviceId, systemRowsFor } from './bench/rows.ts';
import { systemHistory } from './src/storage/history.ts';
import { latestRows } from './src/storage/latest.ts';
const db = await openDatabase({ databaseUrl: 'postgresql://postgres@127.0.0.1:5432/qexp', dataDir: '/tmp/qexp' }, createLogger('warn'));
const { prisma, pool } = db;
const days = 3, devices = 100, list = 500;
await prisma.device.createMany({ data: Array.from({ length: list }, (_, i) => ({ id: benchDeviceId(i), name: benchDeviceId(i), hostname: `h${i}`, username: 'b', monitoringEnabled: false })), skipDuplicates: true });
const end = Math.floor(Date.now() / 300_000) * 300_000;
const per = days * 288;
for (let s = 0; s < per; s += 1000) await copySystemRows(pool, systemRowsFor({ count: Math.min(1000, per - s) * devices, devices, end: end - s * 300_000, seed: s + 1 }));
await copySystemRows(pool, systemRowsFor({ count: list, devices: list, end, seed: 7 }).slice(devices));
await pool.query('ANALYZE system_metrics');
const ids = Array.from({ length: list }, (_, i) => benchDeviceId(i));
async function time(name: string, f: () => Promise<unknown>, n = 40) {
  for (let i = 0; i < 5; i++) await f();
  const t: number[] = [];
  for (let i = 0; i < n; i++) { const t0 = performance.now(); await f(); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b);
  console.log(name.padEnd(40), 'p50', t[n >> 1]!.toFixed(1), 'p90', t[Math.floor(n * 0.9)]!.toFixed(1));
}
const from = new Date(end - 86_400_000), to = new Date(end + 1);
await time('history prisma (current)', () => systemHistory(prisma, { deviceId: benchDeviceId(3), from, to, bucketSeconds: 300 }));
const hsql = (await import('./src/storage/history.ts'));
await time('history pg same sql', () => pool.query({ text: `SELECT time_bucket(make_interval(secs => $2), time) AS bucket, count(*)::int AS samples, avg(cpu_percent), min(cpu_percent), max(cpu_percent), avg(mem_used_percent), min(mem_used_percent),max(mem_used_percent),avg(load1),min(load1),max(load1),avg(cpu_iowait_percent),min(cpu_iowait_percent),max(cpu_iowait_percent),avg(load5),min(load5),max(load5),avg(load15),min(load15),max(load15),avg(net_rx_bytes_per_sec),min(net_rx_bytes_per_sec),max(net_rx_bytes_per_sec),avg(net_tx_bytes_per_sec),min(net_tx_bytes_per_sec),max(net_tx_bytes_per_sec),avg(disk_read_bytes_per_sec),min(disk_read_bytes_per_sec),max(disk_read_bytes_per_sec),avg(disk_write_bytes_per_sec),min(disk_write_bytes_per_sec),max(disk_write_bytes_per_sec),avg(cpu_steal_percent),min(cpu_steal_percent),max(cpu_steal_percent) FROM system_metrics WHERE device_id = $1 AND time >= $3::timestamptz AND time < $4::timestamptz GROUP BY 1 ORDER BY 1`, values: [benchDeviceId(3), 300, from.toISOString(), to.toISOString()] }));
await time('history pg 3 metrics', () => pool.query({ text: `SELECT time_bucket(make_interval(secs => $2), time) AS bucket, count(*)::int AS samples, avg(cpu_percent), min(cpu_percent), max(cpu_percent), avg(mem_used_percent), min(mem_used_percent),max(mem_used_percent),avg(load1),min(load1),max(load1) FROM system_metrics WHERE device_id = $1 AND time >= $3::timestamptz AND time < $4::timestamptz GROUP BY 1 ORDER BY 1`, values: [benchDeviceId(3), 300, from.toISOString(), to.toISOString()] }));
await time('latest system prisma (current)', () => latestRows(prisma, 'system', ids));
await time('latest system pg all cols', () => pool.query(`SELECT m.* FROM unnest($1::text[]) AS d(id) CROSS JOIN LATERAL (SELECT * FROM system_metrics WHERE device_id = d.id ORDER BY time DESC LIMIT 1) m`, [ids]));
await time('devices findMany 500 prisma', () => prisma.device.findMany({ orderBy: { name: 'asc' }, take: 501 }));
await time('devices 500 pg', () => pool.query('SELECT * FROM devices ORDER BY name LIMIT 501'));
await db.close();
