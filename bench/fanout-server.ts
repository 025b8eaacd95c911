/**
 * Child process: the fan-out server under test, so its CPU (process.cpuUsage) and RSS are its
 * own. Modes:
 *   graphql  the real buildServer() (src/server) and event bus, events published as the poller does
 *   ws       a bare `ws` server broadcasting one pre-serialised graphql-transport-ws `next` frame (the physical limit)
 */
import '../src/v8-flags.ts'; // as the server runs: first, before anything allocates
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadConfig } from '../src/config.ts';
import { createPool } from '../src/db/adapter.ts';
import { createPrismaClient, detectTimescale } from '../src/db/index.ts';
import { createSecretBox } from '../src/db/secrets.ts';
import { createEventBus, toWire } from '../src/events/index.ts';
import type { Services } from '../src/graphql/context.ts';
import { createLogger } from '../src/log.ts';
import { buildServer } from '../src/server/index.ts';
import type { SystemMetricsRow } from '../src/storage/types.ts';
import { createApiToken } from '../src/tokens.ts';
import { nowMs, type FromServer, type ServerStart, type ToServer } from './fanout-protocol.ts';

const send = (m: FromServer): void => void process.send?.(m);

function sample(deviceId: string): SystemMetricsRow {
  return {
    time: new Date(),
    deviceId,
    cpuCount: 8,
    cpuPercent: 12.5,
    cpuUserPercent: 8.25,
    cpuSystemPercent: 3.25,
    cpuIowaitPercent: 1,
    cpuStealPercent: 0,
    corePercents: [10, 20, 5, 5, 12, 13, 14, 15],
    memTotalBytes: 16 * 2 ** 30,
    memAvailableBytes: 9 * 2 ** 30,
    memUsedPercent: 43.75,
    swapTotalBytes: 2 ** 31,
    swapFreeBytes: 2 ** 31,
    load1: 0.5,
    load5: 0.75,
    load15: 1,
    uptimeSeconds: nowMs(),
    processCount: 211,
    netRxBytesPerSec: 12345.5,
    netTxBytesPerSec: 2345.25,
    diskReadBytesPerSec: 1e6,
    diskWriteBytesPerSec: 2.5e6,
  };
}

/** The frame a GraphQL server sends for FANOUT_QUERY, built once per event (what the bare server broadcasts). */
function nextFrame(row: SystemMetricsRow): Buffer {
  const s = toWire(row);
  const data = {
    metricCollected: {
      time: s.time, deviceId: s.deviceId, cpuPercent: s.cpuPercent, memUsedPercent: s.memUsedPercent,
      memTotalBytes: s.memTotalBytes, memAvailableBytes: s.memAvailableBytes, load1: s.load1, load5: s.load5, load15: s.load15,
      uptimeSeconds: s.uptimeSeconds, netRxBytesPerSec: s.netRxBytesPerSec, netTxBytesPerSec: s.netTxBytesPerSec,
      diskReadBytesPerSec: s.diskReadBytesPerSec, diskWriteBytesPerSec: s.diskWriteBytesPerSec,
    },
  };
  return Buffer.from(JSON.stringify({ id: '1', type: 'next', payload: { data } }));
}

interface Target {
  port: number;
  publish(row: SystemMetricsRow): void;
  subscriptions(): number;
}

/** A bare ws server: acks any connection_init, counts subscribes, broadcasts the same bytes to all. */
function startBareWs(): Promise<Target> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const subscribed = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    ws.on('message', (raw) => {
      const text = raw.toString();
      if (text.includes('"connection_init"')) ws.send('{"type":"connection_ack"}');
      else if (text.includes('"subscribe"')) subscribed.add(ws);
      else if (text.includes('"ping"')) ws.send('{"type":"pong"}');
    });
    ws.on('close', () => subscribed.delete(ws));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        publish(row) {
          const frame = nextFrame(row);
          for (const ws of subscribed) ws.send(frame, { binary: false });
        },
        subscriptions: () => subscribed.size,
      }),
    ),
  );
}

async function main(start: ServerStart): Promise<void> {
  const pool = createPool(start.databaseUrl, { max: 4 });
  const prisma = createPrismaClient(pool);
  const { token } = await createApiToken(prisma, { name: `bench ${start.mode}`, role: 'VIEWER' });
  const events = createEventBus();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: '/tmp', LOG_LEVEL: 'silent', POLLING_ENABLED: 'false', DATABASE_URL: start.databaseUrl });
  const services: Services = {
    config,
    db: { prisma, pool, url: start.databaseUrl, timescale: await detectTimescale(pool), embedded: false, close: async () => undefined },
    events,
    log: createLogger('silent'),
    secrets: createSecretBox(randomBytes(32)),
    startedAt: new Date(),
    version: 'bench',
    subscribers: { ws: 0, sse: 0 },
  };
  let target: Target;
  if (start.mode === 'ws') target = await startBareWs();
  else {
    const server = buildServer(services);
    await server.start();
    target = {
      port: server.port,
      publish: (row) => void events.publish('metricCollected', { deviceId: row.deviceId, sample: toWire(row) }),
      subscriptions: () => server.operations.stats().members,
    };
  }
  process.on('message', (m: ToServer) => {
    switch (m.type) {
      case 'usage': {
        if (m.gc) (globalThis as { gc?: () => void }).gc?.();
        const u = process.cpuUsage();
        send({ type: 'usage', cpuUs: u.user + u.system, rss: process.memoryUsage.rss(), subscriptions: target.subscriptions() });
        break;
      }
      case 'publish':
        for (let i = 0; i < m.count; i++) target.publish(sample('bench-device-0000'));
        send({ type: 'published', count: m.count });
        break;
      case 'rate': {
        let sent = 0;
        const total = Math.round((m.perSec * m.durationMs) / 1000);
        const t0 = nowMs();
        // A self-correcting schedule: event k goes out at t0 + k/rate however late the last one was.
        const tick = (): void => {
          if (sent >= total) return void send({ type: 'published', count: sent });
          target.publish(sample('bench-device-0000'));
          sent++;
          setTimeout(tick, Math.max(0, t0 + (sent * 1000) / m.perSec - nowMs()));
        };
        tick();
        break;
      }
      case 'stop':
        process.exit(0);
    }
  });
  send({ type: 'ready', port: target.port, token });
}

process.once('message', (m: ServerStart) => {
  main(m).catch((e: unknown) => {
    send({ type: 'error', message: (e as Error).stack ?? String(e) });
    process.exit(1);
  });
});
