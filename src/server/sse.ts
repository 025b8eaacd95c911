/**
 * Server-sent events, two protocols over one framing:
 * - graphql-sse on /graphql/stream, written against its PROTOCOL.md (graphql-sse's own
 *   handler queues every message without bound for a reader that stalls): "distinct
 *   connections" mode (one operation per event stream) and "single connection" mode
 *   (PUT reserves a stream, a GET/POST with the token opens it, POSTs with
 *   `extensions.operationId` add operations, DELETE stops one). A reservation belongs to the
 *   API token that made it.
 * - Yoga's own SSE: a subscription POSTed (or GET) to /graphql with Accept: text/event-stream.
 *   Only valid, authorised subscriptions are served here; anything else (queries, errors) is
 *   left to Yoga, which answers it as it always has.
 * Events are `event: next` with the result as data, then `event: complete`. A comment line
 * (`:`) goes out every SUBSCRIPTION_HEARTBEAT_SECONDS; a stream that has had bytes waiting
 * at two heartbeats in a row without any leaving is dropped, as is one whose outgoing buffer
 * passes SUBSCRIBER_MAX_BUFFER_BYTES (the stream just ends: SSE has no close code).
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Kind, OperationTypeNode, parse, type ExecutionResult } from 'graphql';
import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import type { Principal, Services } from '../graphql/context.ts';
import type { StreamTransport } from '../metrics.ts';
import { ipOf, refuseHttp, type Auth } from './auth.ts';
import { createOutbox, type Outbox } from './delivery.ts';
import type { SharedResult, Subscription } from './groups.ts';
import type { OperationCore, OperationParams, PreparedOperation } from './operation.ts';
import { formatErrors, serializeResult } from './yoga.ts';

export interface SseDeps {
  services: Services;
  auth: Auth;
  core: OperationCore;
}

export interface Sse {
  /** graphql-sse on /graphql/stream, both modes. */
  graphqlSse(req: http.IncomingMessage, res: http.ServerResponse, body: string | null): Promise<void>;
  /** A Yoga-style SSE subscription on /graphql; false when it is not one and Yoga should answer. */
  yogaSse(req: http.IncomingMessage, res: http.ServerResponse, body: string | null): Promise<boolean>;
  stop(): void;
}

/** An unopened single-connection reservation lapses after this long. */
const RESERVATION_TTL_MS = 60_000;
const GRAPHQL_SSE_HEADERS = { connection: 'keep-alive', 'cache-control': 'no-cache', 'content-encoding': 'none', 'content-type': 'text/event-stream; charset=utf-8' };
const YOGA_SSE_HEADERS = { 'content-type': 'text/event-stream', connection: 'keep-alive', 'cache-control': 'no-cache', 'content-encoding': 'none' };
const COMPLETE = 'event: complete\ndata:\n\n';
const NEXT_HEAD = Buffer.from('event: next\ndata: ');
const END = Buffer.from('\n\n');

/** An open event stream: bounded, heart-beating, closed on revocation. */
interface StreamOut {
  outbox: Outbox;
  end(): void;
  onClose(fn: () => void): void;
}

/** How a stream frames one operation's events. */
interface Framing {
  next(json: string): Buffer;
  /** A group's result: distinct connections frame it the same for every member, once (`SharedResult.framed`). */
  shared(result: SharedResult): Buffer;
  complete(): string;
}

const distinctNext = (bytes: Buffer): Buffer => Buffer.concat([NEXT_HEAD, bytes, END]);
const distinct: Framing = { next: (json) => distinctNext(Buffer.from(json)), shared: (result) => result.framed(distinctNext), complete: () => COMPLETE };

function withId(opId: string): Framing {
  const head = Buffer.from(`event: next\ndata: {"id":${JSON.stringify(opId)},"payload":`);
  const tail = Buffer.from('}\n\n');
  const next = (bytes: Buffer): Buffer => Buffer.concat([head, bytes, tail]);
  return {
    next: (json) => next(Buffer.from(json)),
    shared: (result) => next(result.buffer),
    complete: () => `event: complete\ndata: ${JSON.stringify({ id: opId })}\n\n`,
  };
}

export function createSse(deps: SseDeps): Sse {
  const { services, auth } = deps;
  const reservations = new Map<string, Reservation>();

  function openStream(res: http.ServerResponse, transport: StreamTransport, principal: Principal, headers: Record<string, string>): StreamOut {
    const { maxBufferBytes, heartbeatSeconds } = services.config.subscriptions;
    res.writeHead(200, headers);
    res.socket?.setKeepAlive(true, heartbeatSeconds * 1000);
    const outbox = createOutbox({
      transport,
      maxBytes: maxBufferBytes,
      log: services.log,
      who: () => ({ ip: res.socket?.remoteAddress, tokenId: principal.tokenId }),
      buffered: () => res.writableLength,
      write: (chunk) => void res.write(chunk),
      close: () => void res.destroy(),
    });
    // Some browsers only report the stream open once a first byte arrives.
    outbox.send(':\n\n');
    // Bytes the kernel has taken (a socket's bytesWritten counts what is still queued here too).
    const flushed = () => (res.socket ? res.socket.bytesWritten - res.socket.writableLength : 0);
    let flushedAtBacklog: number | null = null;
    const heartbeat = setInterval(() => {
      if (res.writableLength > 0 && flushedAtBacklog === flushed()) return outbox.dead(`nothing drained in ${heartbeatSeconds} s`);
      flushedAtBacklog = res.writableLength > 0 ? flushed() : null;
      outbox.send(':\n\n');
    }, heartbeatSeconds * 1000);
    heartbeat.unref();
    const untrack = auth.track(principal, () => res.destroy());
    services.subscribers.sse++;
    res.once('close', () => {
      clearInterval(heartbeat);
      untrack();
      services.subscribers.sse--;
    });
    return {
      outbox,
      end: () => void res.end(),
      onClose: (fn) => void res.once('close', fn),
    };
  }

  /** Runs a prepared operation onto `write`; resolves with its subscription (null when it is already over). */
  async function run(op: PreparedOperation, framing: Framing, write: (chunk: Buffer | string) => boolean, done: () => void, writable: () => Promise<void>): Promise<Subscription | null> {
    const single = (result: ExecutionResult) => {
      write(framing.next(serializeResult(result)));
      write(framing.complete());
      done();
      return null;
    };
    if (op.kind !== 'subscription') return single(await deps.core.execute(op));
    const joined = await deps.core.subscribe(op, {
      next: (shared) => void write(framing.shared(shared)),
      error: (errors) => {
        write(framing.next(JSON.stringify({ errors })));
        write(framing.complete());
        done();
      },
      complete: () => {
        write(framing.complete());
        done();
      },
      writable,
    });
    return 'unsubscribe' in joined ? joined : single(joined);
  }

  /** Authenticates the request (answering 401/429 itself); the principal, or null when refused. */
  async function principalOf(req: http.IncomingMessage, res: http.ServerResponse): Promise<Principal | null> {
    const verdict = await auth.authenticate(req.headers.authorization, ipOf(req), 'sse');
    if ('status' in verdict) {
      refuseHttp(res, verdict);
      return null;
    }
    return verdict.principal;
  }

  async function distinctStream(req: http.IncomingMessage, res: http.ServerResponse, principal: Principal, body: string | null): Promise<void> {
    const params = graphqlSseParams(req, body);
    if ('status' in params) return answer(res, params.status, params.message);
    const prepared = await deps.core.prepare(params, principal, { req });
    if (!prepared.ok && prepared.phase !== 'validate') return answer(res, 400, prepared.phase === 'parse' ? prepared.errors[0]!.message : 'Unable to detect operation AST');
    if (prepared.ok && prepared.op.kind === 'mutation' && req.method === 'GET') return answer(res, 405, 'Cannot perform mutations over GET', { allow: 'POST' });
    const out = openStream(res, 'graphql-sse', principal, GRAPHQL_SSE_HEADERS);
    if (!prepared.ok) {
      // Accepted, with the validation errors as the stream's one result (graphql-sse does so for event streams).
      out.outbox.send(distinct.next(JSON.stringify({ errors: formatErrors(prepared.errors) })));
      out.outbox.send(COMPLETE);
      return out.end();
    }
    const sub = await run(prepared.op, distinct, (c) => out.outbox.send(c), () => out.end(), () => out.outbox.whenWritable());
    if (sub) out.onClose(() => sub.unsubscribe());
    if (sub && res.destroyed) sub.unsubscribe();
  }

  const single = createSingleConnection(deps, reservations, openStream, run);

  return {
    async graphqlSse(req, res, body) {
      const principal = await principalOf(req, res);
      if (!principal) return;
      const token = streamToken(req);
      const reservation = token ? reservations.get(token) : undefined;
      const owned = reservation && reservation.tokenId === principal.tokenId ? reservation : undefined;
      if (acceptsEventStream(req)) {
        if (!owned) return distinctStream(req, res, principal, body);
        return single.open(owned, res, principal);
      }
      return single.request(req, res, principal, token ?? randomUUID(), owned, body);
    },

    async yogaSse(req, res, body) {
      const params = yogaParams(req, body);
      if (!params || !isSubscription(params, services.config.limits.maxTokens)) return false;
      const principal = await principalOf(req, res);
      if (!principal) return true;
      const prepared = await deps.core.prepare(params, principal, { req });
      if (!prepared.ok) return false;
      const out = openStream(res, 'yoga-sse', principal, YOGA_SSE_HEADERS);
      const sub = await run(prepared.op, distinct, (c) => out.outbox.send(c), () => out.end(), () => out.outbox.whenWritable());
      if (sub) out.onClose(() => sub.unsubscribe());
      if (sub && res.destroyed) sub.unsubscribe();
      return true;
    },

    stop() {
      for (const r of [...reservations.values()]) single.dispose(r);
    },
  };
}

/* ------------------------------------------------------------ single connection mode */

interface Reservation {
  token: string;
  tokenId: string;
  out: StreamOut | undefined;
  /** Messages for operations started before the stream was opened (bounded like the stream). */
  pending: (Buffer | string)[];
  pendingBytes: number;
  ops: Map<string, Subscription | null>;
  expiry: NodeJS.Timeout;
}

type OpenStream = (res: http.ServerResponse, transport: StreamTransport, principal: Principal, headers: Record<string, string>) => StreamOut;
type Run = (op: PreparedOperation, framing: Framing, write: (chunk: Buffer | string) => boolean, done: () => void, writable: () => Promise<void>) => Promise<Subscription | null>;

function createSingleConnection(deps: SseDeps, reservations: Map<string, Reservation>, openStream: OpenStream, run: Run) {
  const { maxBufferBytes } = deps.services.config.subscriptions;

  function dispose(r: Reservation): void {
    if (reservations.get(r.token) !== r) return;
    reservations.delete(r.token);
    clearTimeout(r.expiry);
    for (const sub of r.ops.values()) sub?.unsubscribe();
    r.ops.clear();
    r.out?.end();
  }

  function write(r: Reservation, chunk: Buffer | string): boolean {
    if (reservations.get(r.token) !== r) return false;
    if (r.out) return r.out.outbox.send(chunk) || (dispose(r), false);
    r.pendingBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (r.pendingBytes > maxBufferBytes) {
      dispose(r);
      return false;
    }
    r.pending.push(chunk);
    return true;
  }

  function open(r: Reservation, res: http.ServerResponse, principal: Principal): void {
    if (r.out) return answer(res, 409, 'Stream already open');
    clearTimeout(r.expiry);
    r.out = openStream(res, 'graphql-sse', principal, GRAPHQL_SSE_HEADERS);
    for (const chunk of r.pending.splice(0)) r.out.outbox.send(chunk);
    r.pendingBytes = 0;
    r.out.onClose(() => dispose(r));
  }

  async function operation(req: http.IncomingMessage, res: http.ServerResponse, principal: Principal, r: Reservation, body: string | null): Promise<void> {
    const params = graphqlSseParams(req, body);
    if ('status' in params) return answer(res, params.status, params.message);
    const opId = String(params.extensions?.operationId ?? '');
    if (!opId) return answer(res, 400, 'Operation ID is missing');
    if (r.ops.has(opId)) return answer(res, 409, 'Operation with ID already exists');
    r.ops.set(opId, null);
    const prepared = await deps.core.prepare(params, principal, { req });
    if (!prepared.ok) {
      r.ops.delete(opId);
      if (prepared.phase === 'validate') return json(res, 400, { errors: formatErrors(prepared.errors) });
      return answer(res, 400, prepared.phase === 'parse' ? prepared.errors[0]!.message : 'Unable to detect operation AST');
    }
    if (prepared.op.kind === 'mutation' && req.method === 'GET') {
      r.ops.delete(opId);
      return answer(res, 405, 'Cannot perform mutations over GET', { allow: 'POST' });
    }
    if (!r.ops.has(opId)) return void res.writeHead(204).end();
    const sub = await run(prepared.op, withId(opId), (c) => write(r, c), () => r.ops.delete(opId), async () => r.out?.outbox.whenWritable());
    if (sub) {
      if (r.ops.has(opId) && reservations.get(r.token) === r) r.ops.set(opId, sub);
      else sub.unsubscribe();
    }
    res.writeHead(202, 'Accepted').end();
  }

  async function request(req: http.IncomingMessage, res: http.ServerResponse, principal: Principal, token: string, r: Reservation | undefined, body: string | null): Promise<void> {
    const accept = req.headers.accept || '*/*';
    if (req.method === 'PUT') {
      if (!['*/*', 'text/plain'].includes(accept)) return void res.writeHead(406, 'Not Acceptable').end();
      if (reservations.has(token)) return answer(res, 409, 'Stream already registered');
      const reservation: Reservation = { token, tokenId: principal.tokenId, out: undefined, pending: [], pendingBytes: 0, ops: new Map(), expiry: setTimeout(() => dispose(reservation), RESERVATION_TTL_MS) };
      reservation.expiry.unref();
      reservations.set(token, reservation);
      return void res.writeHead(201, 'Created', { 'content-type': 'text/plain; charset=utf-8' }).end(token);
    }
    if (req.method === 'DELETE') {
      if (!r) return answer(res, 404, 'Stream not found');
      const opId = new URL(req.url ?? '', 'http://localhost/').searchParams.get('operationId');
      if (!opId) return answer(res, 400, 'Operation ID is missing');
      const sub = r.ops.get(opId);
      r.ops.delete(opId);
      sub?.unsubscribe();
      return void res.writeHead(200, 'OK').end();
    }
    if (req.method !== 'GET' && req.method !== 'POST') return void res.writeHead(405, 'Method Not Allowed', { allow: 'GET, POST, PUT, DELETE' }).end();
    if (!r) return answer(res, 404, 'Stream not found');
    if (!['*/*', 'application/*', 'application/json'].includes(accept)) return void res.writeHead(406, 'Not Acceptable').end();
    return operation(req, res, principal, r, body);
  }

  return { open, request, dispose };
}

/* ------------------------------------------------------------ requests */

const acceptsEventStream = (req: http.IncomingMessage): boolean => (req.headers.accept ?? '').includes('text/event-stream');

function streamToken(req: http.IncomingMessage): string | undefined {
  const header = req.headers[TOKEN_HEADER_KEY];
  if (header) return Array.isArray(header) ? header.join('') : header;
  return new URL(req.url ?? '', 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY) ?? undefined;
}

function answer(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  json(res, status, { errors: [{ message }] }, headers);
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** graphql-sse's request rules: GET parameters or a JSON POST body; anything else is refused with its status. */
function graphqlSseParams(req: http.IncomingMessage, body: string | null): OperationParams | { status: number; message: string } {
  let raw: Record<string, unknown>;
  try {
    if (req.method === 'GET') raw = searchParams(req);
    else if (req.method === 'POST' && (req.headers['content-type'] ?? '').includes('application/json')) {
      const data: unknown = JSON.parse(body ?? '');
      if (!isObject(data)) throw new Error('JSON body must be an object');
      raw = data;
    } else return { status: 415, message: 'Unsupported Media Type' };
  } catch (e) {
    return { status: 400, message: (e as Error).message };
  }
  return checkParams(raw) ?? { status: 400, message: raw.query == null ? 'Missing query' : 'Invalid query, variables or extensions' };
}

function searchParams(req: http.IncomingMessage): Record<string, unknown> {
  const s = new URL(req.url ?? '', 'http://localhost/').searchParams;
  try {
    return {
      query: s.get('query') ?? undefined,
      operationName: s.get('operationName') ?? undefined,
      variables: s.get('variables') ? (JSON.parse(s.get('variables')!) as unknown) : undefined,
      extensions: s.get('extensions') ? (JSON.parse(s.get('extensions')!) as unknown) : undefined,
    };
  } catch {
    throw new Error('Unparsable URL');
  }
}

function checkParams(raw: Record<string, unknown>): OperationParams | null {
  const { query, variables, operationName, extensions } = raw;
  if (typeof query !== 'string') return null;
  if (variables != null && !isObject(variables)) return null;
  if (extensions != null && !isObject(extensions)) return null;
  if (operationName != null && typeof operationName !== 'string') return null;
  return { query, variables: variables ?? null, operationName: operationName ?? null, extensions: extensions ?? null };
}

/** Yoga's GET/JSON POST parameters, or null for anything Yoga should parse itself. */
function yogaParams(req: http.IncomingMessage, body: string | null): OperationParams | null {
  try {
    if (req.method === 'GET') return checkParams(searchParams(req));
    if (req.method === 'POST' && (req.headers['content-type'] ?? '').includes('json')) {
      const data: unknown = JSON.parse(body ?? '');
      return isObject(data) ? checkParams(data) : null;
    }
  } catch {
    // Unparsable: Yoga answers with its own error.
  }
  return null;
}

/** Whether the operation to run is a subscription (a token-capped parse; anything odd is Yoga's to answer). */
function isSubscription(params: OperationParams, maxTokens: number): boolean {
  try {
    const doc = parse(params.query, { maxTokens });
    const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    const op = params.operationName ? ops.find((o) => o.name?.value === params.operationName) : ops.length === 1 ? ops[0] : undefined;
    return op?.operation === OperationTypeNode.SUBSCRIPTION;
  } catch {
    return false;
  }
}
