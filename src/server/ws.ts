/**
 * graphql-ws (the graphql-transport-ws protocol) on /graphql, written against the protocol
 * rather than through graphql-ws's `useServer`, so a subscription's events reach the socket
 * as pre-framed bytes of the group's shared result (groups.ts) instead of one async iterator,
 * execution and JSON.stringify per subscriber. Messages are parsed and checked with
 * graphql-ws's own `parseMessage`; close codes and reasons are graphql-ws's:
 *   4400 invalid message, 4401 subscribe before ack (and a revoked/expired token), 4403 bad
 *   token, 4406 wrong subprotocol, 4408 no connection_init within 3 s, 4409 duplicate id,
 *   4429 duplicate connection_init (and too many failed logins), 4500 unexpected message type.
 * Our own: 1013 "Try again later" for a slow consumer (its outgoing buffer passed
 * SUBSCRIBER_MAX_BUFFER_BYTES; graphql-ws clients retry it), 1001 on server shutdown.
 * Keep-alive: a WebSocket ping every SUBSCRIPTION_HEARTBEAT_SECONDS; a peer that has not
 * answered the previous ping by the next one is terminated.
 * Order: a socket's operations are set up in the order they arrived. An operation starts
 * executing only once every subscription sent before it on the socket listens, so a query sent
 * after subscriptions reads a state no older than their first event (the dashboard loads a
 * page after such a query, web/src/live.ts: nothing changes unseen between load and live).
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { CloseCode, handleProtocols, MessageType, parseMessage, type SubscribePayload } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Principal, Services } from '../graphql/context.ts';
import { ipOf, type Auth } from './auth.ts';
import { createOutbox, type Outbox } from './delivery.ts';
import type { Member, SharedResult, Subscription } from './groups.ts';
import type { OperationCore } from './operation.ts';
import { formatErrors, serializeResult } from './yoga.ts';
import { closeIfDatabaseUnavailable } from './database-unavailable.ts';

export const MAX_SUBSCRIPTIONS_PER_SOCKET = 20;
/**
 * graphql-ws close code for a connection whose token was revoked or expired: 4401
 * Unauthorized, like the HTTP 401 the same token now gets. The reference client treats 4401
 * as fatal and stops, where 4403 would make it retry a token that can never work again.
 */
export const WS_CLOSE_TOKEN_INVALID = 4401;
/** A slow consumer: 1013 Try Again Later, which graphql-ws clients retry (then resume with `after`). */
export const WS_CLOSE_SLOW_CONSUMER = 1013;
/** How long a cut-off socket may take to flush its close frame before it is terminated. */
const CLOSE_GRACE_MS = 1000;
const CONNECTION_INIT_WAIT_MS = 3000;
const TEXT = { binary: false } as const;
const NEXT_SUFFIX = Buffer.from('}');

export interface WsDeps {
  services: Services;
  auth: Auth;
  core: OperationCore;
}

export interface WsServer {
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  stop(): Promise<void>;
}

export function createWsServer(deps: WsDeps): WsServer {
  const { config } = deps.services;
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.limits.maxRequestBytes, handleProtocols: (p) => handleProtocols(p) });
  wss.on('connection', (socket: WebSocket, req: http.IncomingMessage, raw: Duplex) => openConnection(deps, socket, req, raw));
  return {
    handleUpgrade(req, socket, head) {
      if ((req.url ?? '').split('?')[0] !== '/graphql') return void socket.destroy();
      const address = ipOf(req);
      if (!deps.auth.allows(address)) {
        socket.end(`HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${deps.auth.retryAfterSeconds(address)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req, socket));
    },
    async stop() {
      for (const ws of wss.clients) ws.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const ws of wss.clients) ws.terminate();
    },
  };
}

/** A string or buffer is one message, framed by ws; an array is a whole frame's parts, written as they are (`nextFrame`). */
type WsChunk = string | Buffer | readonly Buffer[];

interface Connection {
  socket: WebSocket;
  outbox: Outbox<WsChunk>;
  initReceived: boolean;
  acknowledged: boolean;
  principal: Principal | undefined;
  /** Operations by id; null while one is being set up. */
  subs: Map<string, Subscription | null>;
  /** Settles when the latest operation to arrive is set up (a subscription listening, a query prepared). */
  setUp: Promise<void>;
}

/** `raw` is the upgraded TCP socket under `socket` (corked for a tick by each write, `corkForTick`). */
function openConnection(deps: WsDeps, socket: WebSocket, req: http.IncomingMessage, raw: Duplex): void {
  const { services } = deps;
  const { log } = services;
  let untrack: (() => void) | undefined;
  const conn: Connection = {
    socket,
    initReceived: false,
    acknowledged: false,
    principal: undefined,
    subs: new Map(),
    setUp: Promise.resolve(),
    outbox: createOutbox({
      transport: 'ws',
      maxBytes: services.config.subscriptions.maxBufferBytes,
      log,
      who: () => ({ ip: ipOf(req), tokenId: conn.principal?.tokenId }),
      buffered: () => socket.bufferedAmount,
      write: (chunk) => {
        corkForTick(raw);
        if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) socket.send(chunk, TEXT);
        else for (const part of chunk) raw.write(part);
      },
      close: (why) => {
        if (why === 'dead') return void socket.terminate();
        socket.close(WS_CLOSE_SLOW_CONSUMER, `slow consumer: more than ${services.config.subscriptions.maxBufferBytes} bytes waiting`);
        setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
      },
    }),
  };
  socket.on('error', (err) => log.debug({ err: err.message, ip: ipOf(req) }, 'websocket error'));
  if (socket.protocol !== 'graphql-transport-ws') return void socket.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');

  const initWait = setTimeout(() => {
    if (!conn.initReceived) socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
  }, CONNECTION_INIT_WAIT_MS);
  const heartbeat = startHeartbeat(socket, conn.outbox, services.config.subscriptions.heartbeatSeconds * 1000);

  socket.on('message', (data) => {
    onMessage(deps, conn, req, String(data), (u) => (untrack = u)).catch((err: unknown) => {
      log.error({ err }, 'graphql-ws message handling failed');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
  });
  socket.once('close', () => {
    clearTimeout(initWait);
    clearInterval(heartbeat);
    for (const sub of conn.subs.values()) sub?.unsubscribe();
    conn.subs.clear();
    untrack?.();
    if (conn.acknowledged) services.subscribers.ws--;
  });
}

/**
 * Holds what is written to `raw` until the tick's callbacks and promises have run, as Node's
 * http response does for SSE (its first write in a tick corks the socket). A poller flush
 * publishes its samples in one tick, and a subscriber of every device gets each as its own
 * message; ws writes each frame at once, and with 1,000 such subscribers the `writev` system
 * calls alone were a third of the server's CPU (docs/benchmarks.md, "One write per message").
 */
function corkForTick(raw: Duplex): void {
  if (raw.writableCorked > 0) return;
  raw.cork();
  process.nextTick(uncork, raw);
}

const uncork = (raw: Duplex): void => raw.uncork();

/**
 * A group's result as one member's `next` frame: the frame's header, the member's prefix, and
 * the result with the closing brace, which is built once per result and shared by every member
 * (`SharedResult.framed`), so nothing of the payload is copied per member.
 * Written to the upgraded socket directly, as ws's Sender would write it: one unmasked, final
 * text frame (RFC 6455 §5.2), in order with ws's own writes (no permessage-deflate, so ws never
 * queues a frame of its own). A copy of the payload per member, framed through ws, was about
 * 90,000 buffers a second for 1,000 subscribers of every device, and the process spent a quarter
 * of its JavaScript thread collecting garbage: built once, the memory part's server uses half
 * the CPU (docs/benchmarks.md, "A frame per member, built once").
 */
export function nextFrame(prefix: Buffer, result: SharedResult): readonly Buffer[] {
  const tail = result.framed(closeNext);
  return [headerFor(prefix.length + tail.length), prefix, tail];
}

const closeNext = (bytes: Buffer): Buffer => Buffer.concat([bytes, NEXT_SUFFIX]);

/** The last header built: members of a group, delivered one after another, mostly share a prefix length. */
let lastHeader: { length: number; header: Buffer } = { length: -1, header: NEXT_SUFFIX };
function headerFor(length: number): Buffer {
  if (length !== lastHeader.length) lastHeader = { length, header: frameHeader(length) };
  return lastHeader.header;
}

/** FIN and opcode 1 (text), then the payload's length in 7 bits, 7+16 or 7+64 (a server's frames carry no mask). */
export function frameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x81, length]);
  if (length < 0x10000) {
    const header = Buffer.from([0x81, 126, 0, 0]);
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.from([0x81, 127, 0, 0, 0, 0, 0, 0, 0, 0]);
  header.writeUIntBE(length, 4, 6);
  return header;
}

/** A ping per interval; no pong since the previous one means the peer is gone. */
function startHeartbeat(socket: WebSocket, outbox: Outbox, intervalMs: number): NodeJS.Timeout {
  let awaitingPong = false;
  socket.on('pong', () => {
    awaitingPong = false;
  });
  const timer = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    if (awaitingPong) return outbox.dead(`no pong within ${intervalMs} ms`);
    awaitingPong = true;
    socket.ping();
  }, intervalMs);
  timer.unref();
  return timer;
}

const send = (conn: Connection, message: object): void => void conn.outbox.send(JSON.stringify(message));
const sendNext = (conn: Connection, id: string, result: ExecutionResult): void =>
  void conn.outbox.send(`{"id":${JSON.stringify(id)},"type":"next","payload":${serializeResult(result)}}`);
const sendError = (conn: Connection, id: string, errors: readonly GraphQLFormattedError[]): void => send(conn, { id, type: MessageType.Error, payload: errors });

async function onMessage(deps: WsDeps, conn: Connection, req: http.IncomingMessage, text: string, setUntrack: (u: () => void) => void): Promise<void> {
  const { socket } = conn;
  let message;
  try {
    message = parseMessage(text);
  } catch {
    return socket.close(CloseCode.BadRequest, 'Invalid message received');
  }
  switch (message.type) {
    case MessageType.ConnectionInit:
      return init(deps, conn, req, message.payload, setUntrack);
    case MessageType.Ping:
      return send(conn, message.payload ? { type: MessageType.Pong, payload: message.payload } : { type: MessageType.Pong });
    case MessageType.Pong:
      return;
    case MessageType.Subscribe:
      if (!conn.acknowledged) return socket.close(CloseCode.Unauthorized, 'Unauthorized');
      if (conn.subs.has(message.id)) return socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${message.id} already exists`);
      return subscribe(deps, conn, req, message.id, message.payload);
    case MessageType.Complete: {
      const sub = conn.subs.get(message.id);
      conn.subs.delete(message.id);
      return sub?.unsubscribe();
    }
    default:
      return socket.close(CloseCode.InternalServerError, `Unexpected message of type ${message.type} received`);
  }
}

async function init(deps: WsDeps, conn: Connection, req: http.IncomingMessage, payload: Record<string, unknown> | undefined | null, setUntrack: (u: () => void) => void): Promise<void> {
  const { socket } = conn;
  if (conn.initReceived) return socket.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
  conn.initReceived = true;
  const header = payload?.authorization ?? payload?.Authorization;
  const verdict = await deps.auth.authenticate(typeof header === 'string' ? header : null, ipOf(req), 'ws').catch((e: unknown) => closeIfDatabaseUnavailable(socket, e));
  if (!verdict) return;
  if ('status' in verdict) {
    if (verdict.status === 429) return socket.close(4429, 'Too many failed logins');
    return socket.close(CloseCode.Forbidden, 'Forbidden');
  }
  if (socket.readyState !== socket.OPEN) return;
  conn.principal = verdict.principal;
  setUntrack(deps.auth.track(verdict.principal, (reason) => socket.close(WS_CLOSE_TOKEN_INVALID, `Unauthorized: token ${reason}`)));
  conn.acknowledged = true;
  deps.services.subscribers.ws++;
  send(conn, { type: MessageType.ConnectionAck });
}

async function subscribe(deps: WsDeps, conn: Connection, req: http.IncomingMessage, id: string, payload: SubscribePayload): Promise<void> {
  // Reserved first, as graphql-ws does: a `complete` during set-up cancels it.
  conn.subs.set(id, null);
  if (conn.subs.size > MAX_SUBSCRIPTIONS_PER_SOCKET) {
    conn.subs.delete(id);
    return sendError(conn, id, formatErrors([new GraphQLError(`at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection`, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })]));
  }
  const turn = takeTurn(conn);
  try {
    await turn.previous;
    const prepared = await deps.core.prepare(payload, conn.principal!, { req, socket: conn.socket });
    if (!conn.subs.has(id)) return;
    if (!prepared.ok) {
      conn.subs.delete(id);
      return sendError(conn, id, formatErrors(prepared.errors));
    }
    if (prepared.op.kind !== 'subscription') {
      turn.done();
      const result = await deps.core.execute(prepared.op);
      if (!conn.subs.delete(id)) return;
      sendNext(conn, id, result);
      return send(conn, { id, type: MessageType.Complete });
    }
    const joined = await deps.core.subscribe(prepared.op, member(conn, id));
    if ('unsubscribe' in joined) {
      if (conn.subs.has(id) && !conn.outbox.closed) conn.subs.set(id, joined);
      else joined.unsubscribe();
      return;
    }
    // The stream could not start: its errors as one result, then complete (graphql-ws does the same).
    if (!conn.subs.delete(id)) return;
    sendNext(conn, id, joined);
    send(conn, { id, type: MessageType.Complete });
  } finally {
    turn.done();
  }
}

/** This operation's place in the socket's set-up order: `previous` settles when the one before it is set up. */
function takeTurn(conn: Connection): { previous: Promise<void>; done: () => void } {
  const previous = conn.setUp;
  let done!: () => void;
  conn.setUp = new Promise<void>((resolve) => (done = resolve));
  return { previous, done };
}

/** This socket's subscription `id` as a group member: the shared bytes behind a prefix built once. */
function member(conn: Connection, id: string): Member {
  const prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  return {
    next(result: SharedResult) {
      if (conn.socket.readyState !== conn.socket.OPEN) return;
      if (!conn.outbox.send(nextFrame(prefix, result))) {
        for (const sub of conn.subs.values()) sub?.unsubscribe();
        conn.subs.clear();
      }
    },
    error(errors) {
      if (conn.subs.delete(id)) sendError(conn, id, errors);
    },
    complete() {
      if (conn.subs.delete(id)) send(conn, { id, type: MessageType.Complete });
    },
    writable: () => conn.outbox.whenWritable(),
  };
}
