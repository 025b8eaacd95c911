/** Shared by the security e2e files: raw WebSocket peers, database snapshots, "still serving" checks. */
import { expect } from 'vitest';
import WebSocket from 'ws';
import { toWire } from '../../../src/events/index.ts';
import type { SystemMetricsRow } from '../../../src/storage/types.ts';
import type { TestApp } from '../../helpers/app.ts';

export const wsUrl = (app: TestApp): string => app.server.url.replace('http', 'ws') + '/graphql';

export interface RawPeer {
  ws: WebSocket;
  messages: { type?: string; id?: string; payload?: unknown }[];
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  /** The next message of a type (already received ones count). */
  next(type: string, timeoutMs?: number): Promise<{ type?: string; id?: string; payload?: unknown }>;
}

/** A graphql-transport-ws peer that sends exactly what a test tells it to. */
export function rawPeer(app: TestApp): RawPeer {
  const ws = new WebSocket(wsUrl(app), 'graphql-transport-ws');
  const messages: RawPeer['messages'] = [];
  ws.on('message', (data) => {
    try {
      messages.push(JSON.parse(String(data)) as RawPeer['messages'][number]);
    } catch {
      messages.push({ type: '(unparsable)' });
    }
  });
  ws.on('error', () => undefined);
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  opened.catch(() => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  return {
    ws,
    messages,
    opened,
    closed,
    send: (m) => ws.send(typeof m === 'string' || Buffer.isBuffer(m) ? m : JSON.stringify(m)),
    async next(type, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find((m) => m.type === type);
        if (found) {
          messages.splice(messages.indexOf(found), 1);
          return found;
        }
        if (Date.now() > until) throw new Error(`no ${type} message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Row counts of every relational table plus fingerprints of the rows hostile input could reach. */
export async function snapshot(app: TestApp): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const tables = ['devices', 'credentials', 'api_tokens', 'alert_rules', 'alerts', 'silences', 'notification_channels', 'status_changes', 'system_metrics'];
  for (const t of tables) {
    const { rows } = await app.db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}`);
    out[t] = rows[0]?.n ?? '?';
  }
  const fp = async (sql: string) => (await app.db.pool.query<{ h: string | null }>(sql)).rows[0]?.h ?? '';
  out.tokenRows = await fp(`SELECT md5(string_agg(id || name || role || coalesce(revoked_at::text, '') || coalesce(expires_at::text, ''), ',' ORDER BY id)) AS h FROM api_tokens`);
  out.deviceRows = await fp(`SELECT md5(string_agg(id || name || hostname || port || coalesce(username, '') || array_to_string(tags, ','), ',' ORDER BY id)) AS h FROM devices`);
  return out;
}

/** The server answers a health query with OK. */
export async function expectServing(app: TestApp): Promise<void> {
  const res = await app.gql<{ health: { status: string } }>('{ health { status } }');
  expect(res.status).toBe(200);
  expect(res.body.data?.health.status).toBe('OK');
}

export async function postRaw(app: TestApp, body: string, headers: Record<string, string> = {}, path = '/graphql'): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(app.server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${app.adminToken}`, ...headers },
    body,
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

export function sample(deviceId: string, cpuPercent: number): SystemMetricsRow {
  return {
    time: new Date('2026-11-27T10:00:00Z'), deviceId, cpuCount: 2, cpuPercent, cpuUserPercent: 1, cpuSystemPercent: 1,
    cpuIowaitPercent: 0, cpuStealPercent: 0, corePercents: [1, 2], memTotalBytes: 2 ** 34, memAvailableBytes: 2 ** 33,
    memUsedPercent: 50, swapTotalBytes: 0, swapFreeBytes: 0, load1: 0.5, load5: 0.4, load15: 0.3, uptimeSeconds: 100,
    processCount: 80, netRxBytesPerSec: 1, netTxBytesPerSec: 2, diskReadBytesPerSec: 3, diskWriteBytesPerSec: 4,
  };
}

/** Publishes samples until `received()` (subscription set-up is asynchronous). */
export async function publishUntil(app: TestApp, received: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !received(); i++) {
    app.services.events.publish('metricCollected', { deviceId: 'dev-a', sample: toWire(sample('dev-a', 42.5)) });
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(received()).toBe(true);
}

export const SUBSCRIPTION = 'subscription { metricCollected { deviceId cpuPercent } }';

/** POSTs a subscription and collects the event stream's text until it ends or is aborted. */
async function openStream(url: string, token: string, query = SUBSCRIPTION): Promise<{ status: number; text: () => string; ended: Promise<void>; abort: () => void }> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  let text = '';
  const ended = (async () => {
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    } catch {
      // a reset connection is an ended stream too
    }
  })();
  return { status: res.status, text: () => text, ended, abort: () => controller.abort() };
}

/** Yoga's own SSE: a subscription POSTed to /graphql with Accept: text/event-stream. */
export const yogaSse = (app: TestApp, token: string, query?: string) => openStream(`${app.server.url}/graphql`, token, query);

/** Opens a graphql-sse stream (distinct connections mode) on /graphql/stream. */
export const graphqlSse = (app: TestApp, token: string, query?: string) => openStream(`${app.server.url}/graphql/stream`, token, query);

export const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))]);
