/**
 * Email over SMTP (nodemailer). url: smtp://host:port (STARTTLS when offered; `requireTls`
 * makes it mandatory) or smtps://host:port (implicit TLS). config: from, to (list),
 * username, requireTls; the secret is the SMTP password.
 *
 * The host is resolved here and checked (destination.ts) and nodemailer connects to that
 * address, with the name kept for TLS verification. A failure says nodemailer's error code and
 * the SMTP reply code, never the server's text.
 */
import net from 'node:net';
import { text, title } from '../message.ts';
import { DestinationRefused, resolveDestination } from './destination.ts';
import { configString, type Sender } from './types.ts';

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
}

export const sendEmail: Sender = async (channel, message, { timeoutMs, allowPrivateNetworks }) => {
  const u = new URL(channel.url!);
  const secure = u.protocol === 'smtps:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const where = `SMTP ${host}`;
  const to = Array.isArray(channel.config.to) ? channel.config.to.filter((x): x is string => typeof x === 'string') : [];
  const from = configString(channel.config, 'from') ?? 'infrapulse@localhost';
  const user = configString(channel.config, 'username');
  let address: string;
  try {
    address = (await resolveDestination(host, allowPrivateNetworks))[0]!.address;
  } catch (e) {
    throw new Error(`${where} refused: ${e instanceof DestinationRefused ? e.message : ((e as SmtpError).code ?? 'cannot resolve')}`);
  }
  // Imported on the first email, not at start: most servers never send one (issue #16: idle memory).
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: address,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    requireTLS: channel.config.requireTls === true,
    // Certificates are checked against the name in the URL, not the address connected to.
    tls: net.isIP(host) ? undefined : { servername: host },
    name: 'infrapulse',
    auth: user ? { user, pass: channel.secret ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({ from, to, subject: title(message), text: text(message) });
  } catch (e) {
    const err = e as SmtpError;
    throw new Error(`${where} failed: ${err.code ?? 'error'}${err.responseCode ? ` (reply ${err.responseCode})` : ''}`);
  } finally {
    transport.close();
  }
};
