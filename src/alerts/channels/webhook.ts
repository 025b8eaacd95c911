/**
 * Generic webhook: a JSON body naming rule, device, subject, value and state. With a secret,
 * `X-Infrapulse-Signature: sha256=<hex HMAC-SHA256 of the exact body>` lets the receiver
 * check it came from here.
 */
import { createHmac } from 'node:crypto';
import type { NotificationMessage } from '../message.ts';
import { post, type Sender } from './types.ts';

export const SIGNATURE_HEADER = 'X-Infrapulse-Signature';

export function webhookBody(m: NotificationMessage): string {
  return JSON.stringify({
    version: 1,
    event: m.event,
    alertId: m.alertId,
    state: m.state,
    severity: m.severity,
    rule: m.rule,
    device: m.device,
    subject: m.subject,
    value: m.value,
    message: m.message,
    at: m.at,
    firedAt: m.firedAt,
    resolvedAt: m.resolvedAt,
    ...(m.topProcesses ? { topProcesses: m.topProcesses } : {}),
  });
}

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export const sendWebhook: Sender = async (channel, message, options) => {
  const body = webhookBody(message);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'infrapulse' };
  if (channel.secret) headers[SIGNATURE_HEADER] = sign(channel.secret, body);
  await post(channel.url!, body, headers, options);
};
