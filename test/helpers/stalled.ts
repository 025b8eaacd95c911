/**
 * Clients that stop reading: a raw TCP WebSocket (graphql-transport-ws) and raw HTTP event
 * streams whose sockets are paused once subscribed, so everything the server sends piles up
 * in the kernel and then in the server. Nothing here reads after `pause()`; `resume()` reads
 * again and resolves when the server has ended the connection.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

export interface Stalled {
  /** Stop reading (the socket stays open). */
  pause(): void;
  /** Read again, discard what arrives, resolve with how the connection ended (null if still open after `ms`). */
  resumeUntilClosed(ms: number): Promise<{ bytes: number; closeCode: number | null } | null>;
  destroy(): void;
}

/** A masked client text frame (RFC 6455 §5.2). */
export function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : len < 65536 ? Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), bigLength(len)]);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([head, mask, masked]);
}

function bigLength(len: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(len));
  return b;
}

/** The close code of the first close frame in `data` (server frames are unmasked), if any. */
export function closeCodeIn(data: Buffer): number | null {
  let i = 0;
  while (i + 2 <= data.length) {
    const opcode = data[i]! & 0x0f;
    let len = data[i + 1]! & 0x7f;
    let off = i + 2;
    if (len === 126) {
      if (off + 2 > data.length) return null;
      len = data.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (off + 8 > data.length) return null;
      len = Number(data.readBigUInt64BE(off));
      off += 8;
    }
    if (opcode === 0x8) return off + 2 <= data.length ? data.readUInt16BE(off) : null;
    i = off + len;
  }
  return null;
}

function stalledSocket(socket: net.Socket, kept: Buffer[]): Stalled {
  let bytes = 0;
  return {
    pause: () => socket.pause(),
    resumeUntilClosed(ms) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), ms);
        // Only the tail is kept: the close frame comes last.
        socket.on('data', (d: Buffer) => {
          bytes += d.length;
          kept.push(d);
          while (kept.length > 4) kept.shift();
        });
        const done = () => {
          clearTimeout(timer);
          resolve({ bytes, closeCode: closeCodeIn(Buffer.concat(kept)) });
        };
        socket.once('close', done);
        socket.resume();
      });
    },
    destroy: () => socket.destroy(),
  };
}

/** Opens a graphql-transport-ws connection, inits with `token`, subscribes with `query`, and returns it still reading. */
export async function stalledWebSocket(url: string, token: string, query: string): Promise<Stalled> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(
    `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
  );
  const kept: Buffer[] = [];
  let seen = Buffer.alloc(0);
  const waitFor = (needle: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${needle} from the server: ${seen.toString('latin1').slice(0, 200)}`)), 10_000);
      const check = () => {
        if (!seen.includes(needle)) return;
        clearTimeout(timer);
        socket.off('data', onData);
        resolve();
      };
      const onData = (d: Buffer) => {
        seen = Buffer.concat([seen, d]);
        check();
      };
      socket.on('data', onData);
      check();
    });
  await waitFor('\r\n\r\n');
  if (!seen.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${seen.toString('latin1').split('\r\n')[0]}`);
  socket.write(clientFrame(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
  await waitFor('connection_ack');
  socket.write(clientFrame(JSON.stringify({ id: 'stalled', type: 'subscribe', payload: { query } })));
  // Consume while not paused, so only what arrives after pause() piles up.
  socket.on('data', () => undefined);
  const s = stalledSocket(socket, kept);
  return {
    ...s,
    pause() {
      socket.removeAllListeners('data');
      s.pause();
    },
  };
}

/** POSTs a subscription with Accept: text/event-stream and returns once the response headers are in. */
export async function stalledEventStream(url: string, token: string, query: string): Promise<Stalled & { status: number }> {
  const u = new URL(url);
  const body = JSON.stringify({ query });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) } }, resolve);
    req.on('error', reject);
    req.end(body);
  });
  res.on('data', () => undefined);
  const socket = res.socket;
  socket.on('error', () => undefined);
  const kept: Buffer[] = [];
  const s = stalledSocket(socket, kept);
  return {
    status: res.statusCode ?? 0,
    pause() {
      // The socket itself, not just the parser: nothing is read from the kernel.
      res.removeAllListeners('data');
      res.pause();
      socket.pause();
    },
    async resumeUntilClosed(ms) {
      res.on('data', () => undefined);
      res.resume();
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), ms);
        let bytes = 0;
        res.on('data', (d: Buffer) => void (bytes += d.length));
        const done = () => {
          clearTimeout(timer);
          resolve({ bytes, closeCode: null });
        };
        res.once('close', done);
        res.once('end', done);
        socket.resume();
      });
    },
    destroy: () => socket.destroy(),
  };
}
