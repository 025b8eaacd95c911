/**
 * Child process: N raw `ws` connections speaking graphql-transport-ws (connection_init, ack,
 * one subscribe each). Far lighter than N graphql-ws client objects, so more of the machine
 * is left to the server under test. Counts `next` frames; in latency mode also reads the
 * publish instant carried in each sample and records receive − publish.
 */
import WebSocket from 'ws';
import { nowMs, type ClientsStart, type FromClients, type ToClients } from './fanout-protocol.ts';

const send = (m: FromClients): void => void process.send?.(m);
const NEXT = Buffer.from('"next"');

async function main(start: ClientsStart): Promise<void> {
  let mode: 'count' | 'latency' = 'count';
  let received = 0;
  let latencies: number[] = [];
  const sockets: WebSocket[] = [];
  const init = JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${start.token}` } });
  const subscribe = JSON.stringify({ id: '1', type: 'subscribe', payload: { query: start.query } });
  const OWN_NAME = /^subscription Live\b/;
  // Without the name to number, every subscriber would share one group and the figure mean nothing.
  if (start.distinct && !OWN_NAME.test(start.query)) throw new Error('distinct subscribers need a query that begins `subscription Live`');
  let named = 0;
  const subscribeOwn = (): string =>
    start.distinct ? JSON.stringify({ id: '1', type: 'subscribe', payload: { query: start.query.replace(OWN_NAME, `subscription Live${named++}`) } }) : subscribe;
  let reported = -1;
  const report = (): void => {
    reported = received;
    send({ type: 'count', received });
  };
  setInterval(() => {
    if (received !== reported) report();
  }, 50).unref();
  const onFrame = (data: Buffer): void => {
    if (data.indexOf(NEXT) < 0 || data.indexOf(NEXT) > 40) return;
    received++;
    if (mode === 'latency') {
      const m = JSON.parse(data.toString()) as { payload: { data: { metricCollected: { uptimeSeconds: number } } } };
      latencies.push(nowMs() - m.payload.data.metricCollected.uptimeSeconds);
    }
    // At once when every connected subscriber has one more message; otherwise the 50 ms report below.
    if (received % sockets.length === 0) report();
  };
  const open = (): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(start.url, 'graphql-transport-ws', { perMessageDeflate: false });
      ws.once('error', reject);
      ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason.toString()}`)));
      ws.once('open', () => ws.send(init));
      ws.once('message', (raw: Buffer) => {
        if (!raw.toString().includes('connection_ack')) return reject(new Error(`expected connection_ack, got ${raw.toString().slice(0, 100)}`));
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        ws.on('error', () => undefined);
        ws.on('message', (d: Buffer) => {
          if (d.length < 40 && d.includes('"ping"')) ws.send('{"type":"pong"}');
          else onFrame(d);
        });
        ws.send(subscribeOwn());
        resolve(ws);
      });
    });
  let failed = 0;
  let firstError: string | undefined;
  const connectUpTo = async (target: number): Promise<void> => {
  // Connect in waves so the server is not asked for thousands of handshakes at one instant; a
  // connection refused under load (e.g. 4408 when the server's event loop was busy) gets two more tries.
  for (let i = sockets.length + failed; i < target; i += 100) {
    let want = Math.min(100, target - i);
    for (let attempt = 0; attempt < 3 && want > 0; attempt++) {
      const wave = await Promise.allSettled(Array.from({ length: want }, open));
      want = 0;
      for (const r of wave) {
        if (r.status === 'fulfilled') sockets.push(r.value);
        else {
          want++;
          firstError ??= (r.reason as Error).message;
        }
      }
    }
    failed += want;
  }
  };
  await connectUpTo(start.firstWave ?? start.connections);
  let closed = 0;
  let stalled: WebSocket | undefined;
  send({ type: 'connected', connections: sockets.length, failed, firstError });
  process.on('message', (m: ToClients) => {
    switch (m.type) {
      case 'more':
        void connectUpTo(start.connections).then(() => {
          for (const ws of sockets) ws.on('close', () => closed++);
          send({ type: 'connected', connections: sockets.length, failed, firstError });
        });
        break;
      case 'mode':
        mode = m.mode;
        break;
      case 'reset':
        received = 0;
        latencies = [];
        report();
        break;
      case 'latencies':
        send({ type: 'latencies', ms: latencies });
        send({ type: 'closed', closed });
        break;
      case 'stall':
        // Its own connection, not counted; once subscribed, its socket stops being read.
        void (async () => {
          const ws = new WebSocket(start.url, 'graphql-transport-ws', { perMessageDeflate: false });
          ws.on('error', () => undefined);
          await new Promise((r) => ws.once('open', r));
          ws.send(init);
          await new Promise((r) => ws.once('message', r));
          ws.send(subscribe);
          ws.pause();
          stalled = ws;
          send({ type: 'stalled' });
        })();
        break;
      case 'unstall':
        stalled?.terminate();
        stalled = undefined;
        break;
      case 'stop':
        for (const ws of sockets) ws.terminate();
        process.exit(0);
    }
  });
}

process.once('message', (m: ClientsStart) => {
  main(m).catch((e: unknown) => {
    send({ type: 'error', message: (e as Error).stack ?? String(e) });
    process.exit(1);
  });
});
