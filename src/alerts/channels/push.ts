/**
 * Phone push services. ntfy: POST the text to the topic URL with Title/Priority/Tags headers
 * (a secret becomes `Authorization: Bearer`). Gotify: POST {title, message, priority} to
 * `<url>/message` with the application token in X-Gotify-Key (or already in the URL as ?token=).
 */
import type { Severity } from '../rules.ts';
import { details, title } from '../message.ts';
import { post, type Sender } from './types.ts';

const NTFY_PRIORITY: Record<Severity, string> = { INFO: '3', WARNING: '4', CRITICAL: '5' };
const NTFY_TAG: Record<Severity, string> = { INFO: 'information_source', WARNING: 'warning', CRITICAL: 'rotating_light' };
const GOTIFY_PRIORITY: Record<Severity, number> = { INFO: 2, WARNING: 5, CRITICAL: 8 };

/** Header values must be ISO-8859-1; ntfy reads RFC 2047 for anything else. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

export const sendNtfy: Sender = async (channel, message, options) => {
  const resolved = message.event === 'resolved';
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    Title: headerSafe(title(message)),
    Priority: resolved ? '3' : NTFY_PRIORITY[message.severity],
    Tags: resolved ? 'white_check_mark,infrapulse' : `${NTFY_TAG[message.severity]},infrapulse`,
  };
  if (channel.secret) headers.Authorization = `Bearer ${channel.secret}`;
  await post(channel.url!, details(message), headers, options);
};

/**
 * The server URL, or the `<server>/message?token=…` URL Gotify's docs show: `/message` is added
 * to the path unless it is there, and a query (the token) is kept.
 */
function gotifyMessageUrl(url: string): string {
  const u = new URL(url);
  if (!/\/message\/?$/.test(u.pathname)) u.pathname = `${u.pathname.replace(/\/+$/, '')}/message`;
  return u.toString();
}

export const sendGotify: Sender = async (channel, message, options) => {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'infrapulse' };
  if (channel.secret) headers['X-Gotify-Key'] = channel.secret;
  const body = { title: title(message), message: details(message), priority: message.event === 'resolved' ? GOTIFY_PRIORITY.INFO : GOTIFY_PRIORITY[message.severity] };
  await post(gotifyMessageUrl(channel.url!), JSON.stringify(body), headers, options);
};
