import type { ChannelKind } from '../../db/generated/enums.ts';
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
}

/** Resolves when the receiver accepted the message; throws with a reason a person can act on. */
export type Sender = (channel: ResolvedChannel, message: NotificationMessage, options: SendOptions) => Promise<void>;

/** POSTs and fails on anything but 2xx, naming the status and the start of the body. */
export async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const reason = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new Error(`POST ${redact(url)} failed: ${reason}`);
  }
  if (res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return;
  }
  const detail = (await res.text().catch(() => '')).slice(0, 200).trim();
  throw new Error(`POST ${redact(url)} answered ${res.status}${detail ? `: ${detail}` : ''}`);
}

/** Query strings carry tokens (Gotify's ?token=, Slack's path is secret too): logs keep the origin and path head only. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.split('/').slice(0, 2).join('/')}…`;
  } catch {
    return '<invalid url>';
  }
}

export const configString = (config: Record<string, unknown>, key: string): string | undefined => {
  const v = config[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
};
