import http from 'node:http';
import https from 'node:https';
import type { ChannelKind } from '../../db/generated/enums.ts';
import { DestinationRefused, guardedLookup, literalRefusal } from './destination.ts';
import type { NotificationMessage } from '../message.ts';

export type { ChannelKind };

/** A channel ready to send: its secret decrypted, its config parsed. */
export interface ResolvedChannel {
  id: string;
  name: string;
  kind: ChannelKind;
  url: string | null;
  config: Record<string, unknown>;
  secret: string | null;
}

export interface SendOptions {
  timeoutMs: number;
  /** NOTIFY_ALLOW_PRIVATE_NETWORKS: loopback, private and link-local destinations allowed (destination.ts). */
  allowPrivateNetworks: boolean;
}

/** Resolves when the receiver accepted the message; throws with a reason a person can act on. */
export type Sender = (channel: ResolvedChannel, message: NotificationMessage, options: SendOptions) => Promise<void>;

/** Why a request failed, without echoing anything the other side sent. */
function failure(err: Error & { code?: string }): string {
  if (err instanceof DestinationRefused) return `refused: ${err.message}`;
  if (err.name === 'TimeoutError') return `failed: ${err.message}`;
  return `failed: ${err.code ?? err.name}`;
}

/**
 * POSTs and fails on anything but 2xx (redirects are not followed). The error names the
 * status code and its standard reason only: a receiver's body and reason phrase are never
 * read, so nothing a hostile or internal server says reaches the caller (or the delivery log
 * VIEWERs can read). Connects only where destination.ts allows.
 */
export function post(url: string, body: string, headers: Record<string, string>, options: SendOptions): Promise<void> {
  const u = new URL(url);
  const where = `POST ${redact(url)}`;
  const literal = literalRefusal(u.hostname, options.allowPrivateNetworks);
  if (literal) return Promise.reject(new Error(`${where} refused: ${literal}`));
  return new Promise<void>((resolve, reject) => {
    const request = u.protocol === 'https:' ? https.request : http.request;
    const req = request(u, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: guardedLookup(options.allowPrivateNetworks) }, (res) => {
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      res.resume(); // the body is discarded unread
      if (status >= 200 && status < 300) resolve();
      else reject(new Error(`${where} answered ${status} ${http.STATUS_CODES[status] ?? ''}`.trim()));
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { name: 'TimeoutError' })), options.timeoutMs);
    req.on('error', (err: Error & { code?: string }) => {
      clearTimeout(timer);
      reject(new Error(`${where} ${failure(err)}`));
    });
    req.end(body);
  });
}

/**
 * For logs and VIEWERs. Web URLs: query strings carry tokens (Gotify's ?token=) and chat
 * webhook paths are secrets themselves, so only the origin and the first path segment stay.
 * SMTP URLs (which have no "origin"): scheme, host and port, the destination and nothing else.
 */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${u.protocol}//${u.host}`;
    return `${u.origin}${u.pathname.split('/').slice(0, 2).join('/')}…`;
  } catch {
    return '<invalid url>';
  }
}

export const configString = (config: Record<string, unknown>, key: string): string | undefined => {
  const v = config[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
};
