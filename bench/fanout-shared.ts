/**
 * Fan-out prototype (not the product's server): graphql-transport-ws where each event is
 * executed once per distinct subscription — (role, query, variables, operationName) — rather
 * than once per subscriber, and the result is serialised once; each subscriber gets
 * `{"id":<its id>,"type":"next","payload":` + shared JSON + `}`, its prefix built at subscribe time.
 *
 * Authorisation stays correct because the role is part of the key (resolvers see one
 * subscriber's context, and every member of the group has the same role). Anything that reads
 * per-connection context beyond the role would have to go into the key as well.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse, subscribe, validate, type DocumentNode, type ExecutionResult } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Context, Principal, Services } from '../src/graphql/context.ts';
import { schema } from '../src/graphql/schema.ts';
import type { SystemMetricsRow } from '../src/storage/types.ts';
import { toWire } from '../src/events/index.ts';
import { bearer, createTokenVerifier } from '../src/tokens.ts';

interface Member {
  ws: WebSocket;
  id: string;
  prefix: string;
}

interface Group {
  members: Set<Member>;
  stop(): void;
}

interface SubscribeMessage {
  id: string;
  type: 'subscribe';
  payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null };
}

export async function startSharedServer(services: Services): Promise<{ port: number; publish(row: SystemMetricsRow): void; subscriptions(): number }> {
  const tokens = createTokenVerifier(services.db.prisma);
  const documents = new Map<string, DocumentNode>();
  const groups = new Map<string, Group>();
  let members = 0;

  const startGroup = async (key: string, document: DocumentNode, msg: SubscribeMessage, auth: Principal): Promise<Group | string> => {
    const contextValue: Context = { ...services, auth };
    const result = await subscribe({ schema, document, variableValues: msg.payload.variables ?? undefined, operationName: msg.payload.operationName ?? undefined, contextValue });
    if (!(Symbol.asyncIterator in result)) return JSON.stringify((result as ExecutionResult).errors ?? []);
    const it = result[Symbol.asyncIterator]();
    const group: Group = { members: new Set(), stop: () => void it.return?.() };
    groups.set(key, group);
    void (async () => {
      for (;;) {
        const next = await it.next();
        if (next.done) break;
        const tail = `${JSON.stringify(next.value)}}`;
        for (const m of group.members) m.ws.send(m.prefix + tail);
      }
    })();
    return group;
  };

  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, path: '/graphql' });
  wss.on('connection', (ws) => {
    let principal: Principal | null = null;
    const mine = new Map<string, { key: string; member: Member }>();
    const leave = (id: string): void => {
      const sub = mine.get(id);
      if (!sub) return;
      mine.delete(id);
      const group = groups.get(sub.key);
      if (!group) return;
      group.members.delete(sub.member);
      members--;
      if (group.members.size === 0) {
        groups.delete(sub.key);
        group.stop();
      }
    };
    ws.on('message', async (raw) => {
      let msg: { type?: string; id?: string; payload?: unknown };
      try {
        msg = JSON.parse(raw.toString()) as typeof msg;
      } catch {
        return ws.close(4400, 'Invalid message');
      }
      if (msg.type === 'connection_init') {
        const p = (msg.payload ?? {}) as { authorization?: unknown };
        principal = await tokens.verify(bearer(typeof p.authorization === 'string' ? p.authorization : null));
        if (!principal) return ws.close(4403, 'Forbidden');
        return ws.send('{"type":"connection_ack"}');
      }
      if (msg.type === 'ping') return ws.send('{"type":"pong"}');
      if (!principal) return ws.close(4401, 'Unauthorized');
      if (msg.type === 'complete' && typeof msg.id === 'string') return leave(msg.id);
      if (msg.type !== 'subscribe' || typeof msg.id !== 'string') return;
      const sub = msg as SubscribeMessage;
      let document = documents.get(sub.payload.query);
      if (!document) {
        try {
          document = parse(sub.payload.query);
        } catch (e) {
          return ws.send(JSON.stringify({ id: sub.id, type: 'error', payload: [{ message: (e as Error).message }] }));
        }
        const errors = validate(schema, document);
        if (errors.length) return ws.send(JSON.stringify({ id: sub.id, type: 'error', payload: errors }));
        documents.set(sub.payload.query, document);
      }
      const key = `${principal.role}\0${sub.payload.operationName ?? ''}\0${JSON.stringify(sub.payload.variables ?? {})}\0${sub.payload.query}`;
      let group: Group | string | undefined = groups.get(key);
      if (!group) group = await startGroup(key, document, sub, principal);
      if (typeof group === 'string') return ws.send(`{"id":${JSON.stringify(sub.id)},"type":"error","payload":${group}}`);
      const member: Member = { ws, id: sub.id, prefix: `{"id":${JSON.stringify(sub.id)},"type":"next","payload":` };
      group.members.add(member);
      members++;
      mine.set(sub.id, { key, member });
    });
    ws.on('close', () => {
      for (const id of [...mine.keys()]) leave(id);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    publish: (row) => void services.events.publish('metricCollected', { deviceId: row.deviceId, sample: toWire(row) }),
    subscriptions: () => members,
  };
}
