/**
 * Sends a notification to channels: each channel independently, up to `attempts` tries with
 * exponential backoff, one NotificationDelivery row per attempt (the delivery log of the
 * alert). Sends run detached from evaluation; `idle()` waits for them (tests, shutdown).
 */
import type { Database, PrismaClient } from '../db/index.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { Logger } from '../log.ts';
import { sendDiscord, sendSlack } from './channels/chat.ts';
import { sendEmail } from './channels/email.ts';
import { sendGotify, sendNtfy } from './channels/push.ts';
import { redact, type ChannelKind, type ResolvedChannel, type Sender } from './channels/types.ts';
import { sendWebhook } from './channels/webhook.ts';
import type { NotificationMessage } from './message.ts';

export const SENDERS: Record<ChannelKind, Sender> = {
  WEBHOOK: sendWebhook,
  SLACK: sendSlack,
  DISCORD: sendDiscord,
  NTFY: sendNtfy,
  GOTIFY: sendGotify,
  EMAIL: sendEmail,
};

export interface DeliveryResult {
  channelId: string;
  ok: boolean;
  attempts: number;
  error: string | null;
}

export interface Notifier {
  /** Queues a message for the channels (empty list: every enabled channel); returns at once. */
  notify(message: NotificationMessage, channelIds: readonly string[]): void;
  /** Sends a test message to one channel now, with the same retries; no delivery rows. */
  test(channelId: string): Promise<DeliveryResult | null>;
  /** Resolves when nothing is being sent. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface NotifierDeps {
  db: Pick<Database, 'prisma'>;
  secrets: SecretBox;
  log: Logger;
  /** Tries per channel and message (default 3). */
  attempts?: number;
  /** Delay before the 2nd try, doubling after (default 1 s). */
  baseDelayMs?: number;
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
  /** NOTIFY_ALLOW_PRIVATE_NETWORKS (default false: loopback, private and link-local destinations are refused). */
  allowPrivateNetworks?: boolean;
  senders?: Partial<Record<ChannelKind, Sender>>;
  now?: () => Date;
  /** Adds what the message should also say before it goes out (culprits.ts); runs detached, once per message. */
  enrich?: (message: NotificationMessage) => Promise<NotificationMessage>;
}

type ChannelRow = Awaited<ReturnType<PrismaClient['notificationChannel']['findMany']>>[number];

function configObject(json: unknown): Record<string, unknown> {
  return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const { log } = deps;
  const prisma = deps.db.prisma;
  const attempts = deps.attempts ?? 3;
  const baseDelayMs = deps.baseDelayMs ?? 1000;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const allowPrivateNetworks = deps.allowPrivateNetworks ?? false;
  const senders = { ...SENDERS, ...deps.senders };
  const now = deps.now ?? (() => new Date());
  const inFlight = new Set<Promise<unknown>>();
  const sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let stopping = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = { timer: setTimeout(() => done(), ms), resolve };
      const done = () => {
        sleeps.delete(entry);
        resolve();
      };
      entry.resolve = () => {
        clearTimeout(entry.timer);
        done();
      };
      sleeps.add(entry);
    });

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };

  async function deliver(row: ChannelRow, message: NotificationMessage, record: boolean): Promise<DeliveryResult> {
    let error: string | null = null;
    let channel: ResolvedChannel | null = null;
    try {
      channel = { id: row.id, name: row.name, kind: row.kind, url: row.url, config: configObject(row.config), secret: row.encryptedSecret ? deps.secrets.decrypt(row.encryptedSecret) : null };
    } catch (e) {
      error = (e as Error).message;
    }
    let attempt = 0;
    while (channel && attempt < attempts) {
      attempt++;
      const started = Date.now();
      try {
        await senders[row.kind](channel, message, { timeoutMs, allowPrivateNetworks });
        error = null;
      } catch (e) {
        error = (e as Error).message || String(e);
      }
      if (record && message.alertId) {
        await prisma.notificationDelivery
          .create({ data: { alertId: message.alertId, channelId: row.id, attempt, ok: error === null, error, at: now() } })
          .catch((err: unknown) => log.warn({ channelId: row.id, err: (err as Error).message }, 'could not record a notification delivery'));
      }
      if (error === null) {
        log.info({ channelId: row.id, kind: row.kind, alertId: message.alertId, event: message.event, attempt, ms: Date.now() - started }, 'notification sent');
        return { channelId: row.id, ok: true, attempts: attempt, error: null };
      }
      log.warn({ channelId: row.id, kind: row.kind, alertId: message.alertId, attempt, error }, 'notification attempt failed');
      if (attempt < attempts && !stopping) await sleep(baseDelayMs * 2 ** (attempt - 1));
      if (stopping) break;
    }
    if (!channel && record && message.alertId) {
      await prisma.notificationDelivery.create({ data: { alertId: message.alertId, channelId: row.id, attempt: 1, ok: false, error, at: now() } }).catch(() => undefined);
    }
    return { channelId: row.id, ok: false, attempts: attempt, error };
  }

  async function send(original: NotificationMessage, channelIds: readonly string[]): Promise<void> {
    const message = deps.enrich ? await deps.enrich(original) : original;
    const rows = await prisma.notificationChannel.findMany({ where: channelIds.length ? { id: { in: [...channelIds] }, enabled: true } : { enabled: true } });
    if (rows.length === 0) log.debug({ alertId: message.alertId }, 'no enabled channel for this notification');
    await Promise.all(rows.map((row) => deliver(row, message, true)));
  }

  return {
    notify(message, channelIds) {
      if (stopping) return;
      void track(send(message, channelIds).catch((err: unknown) => log.error({ alertId: message.alertId, err: (err as Error).message }, 'notification failed')));
    },
    async test(channelId) {
      const row = await prisma.notificationChannel.findUnique({ where: { id: channelId } });
      if (!row) return null;
      const at = now().toISOString();
      const message: NotificationMessage = {
        event: 'test',
        alertId: null,
        state: 'TEST',
        severity: 'INFO',
        rule: { id: 'test', name: 'Test notification', metric: null },
        device: { id: 'test', name: 'infrapulse' },
        subject: '',
        value: null,
        message: `A test of channel "${row.name}" (${row.kind} ${row.url ? redact(row.url) : ''}) from infrapulse.`,
        at,
        firedAt: null,
        resolvedAt: null,
      };
      return track(deliver(row, message, false));
    },
    async idle() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    async stop() {
      stopping = true;
      for (const s of [...sleeps]) s.resolve();
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
