/**
 * Email over SMTP (nodemailer). url: smtp://host:port (STARTTLS when offered; `requireTls`
 * makes it mandatory) or smtps://host:port (implicit TLS). config: from, to (list),
 * username, requireTls; the secret is the SMTP password.
 */
import nodemailer from 'nodemailer';
import { text, title } from '../message.ts';
import { configString, type Sender } from './types.ts';

export const sendEmail: Sender = async (channel, message, { timeoutMs }) => {
  const u = new URL(channel.url!);
  const secure = u.protocol === 'smtps:';
  const to = Array.isArray(channel.config.to) ? channel.config.to.filter((x): x is string => typeof x === 'string') : [];
  const from = configString(channel.config, 'from') ?? 'infrapulse@localhost';
  const user = configString(channel.config, 'username');
  const transport = nodemailer.createTransport({
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    requireTLS: channel.config.requireTls === true,
    auth: user ? { user, pass: channel.secret ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({ from, to, subject: title(message), text: text(message) });
  } finally {
    transport.close();
  }
};
