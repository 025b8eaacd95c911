/** What a notification says, whatever the channel: built once per alert transition. */
import type { AlertMetric, AlertState, Severity } from './rules.ts';

export type NotificationEvent = 'firing' | 'resolved' | 'repeat' | 'test';

export interface NotificationMessage {
  event: NotificationEvent;
  /** null for testNotificationChannel. */
  alertId: string | null;
  state: AlertState | 'TEST';
  severity: Severity;
  rule: { id: string; name: string; metric: AlertMetric | null };
  device: { id: string; name: string };
  /** Mount point, drive serial, container name; '' for the device itself. */
  subject: string;
  value: string | null;
  /** One line for people, e.g. "filesystem used % of /var is 93.5 (> 90)". */
  message: string;
  at: string;
  firedAt: string | null;
  resolvedAt: string | null;
}

const EVENT_WORD: Record<NotificationEvent, string> = { firing: 'FIRING', repeat: 'STILL FIRING', resolved: 'RESOLVED', test: 'TEST' };

/** "[FIRING] Filesystem almost full on web-1 (/var)" */
export function title(m: NotificationMessage): string {
  return `[${EVENT_WORD[m.event]}] ${m.rule.name} on ${m.device.name}${m.subject ? ` (${m.subject})` : ''}`;
}

/** Title, the measured line, severity and time: the plain text of chat and email channels. */
export function text(m: NotificationMessage): string {
  return `${title(m)}\n${m.message}\nseverity ${m.severity} · ${m.at}`;
}
