/** What a notification says, whatever the channel: built once per alert transition. */
import type { TopProcess } from '../collectors/top-processes.ts';
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
  /** A firing CPU or memory alert: the device's busiest processes then (culprits.ts); absent when not asked or not answered. */
  topProcesses?: NotificationProcess[];
}

export type NotificationProcess = Pick<TopProcess, 'pid' | 'user' | 'command' | 'cpuPercent' | 'memoryBytes'>;

const MIB = 1024 * 1024;

/** "python3 worker.py (pid 1402, app): 85.2 % CPU, 512 MiB" */
function processLine(p: NotificationProcess): string {
  const cpu = p.cpuPercent === null ? '? % CPU' : `${p.cpuPercent} % CPU`;
  const mem = p.memoryBytes === null ? '? MiB' : `${Math.round(p.memoryBytes / MIB)} MiB`;
  return `${p.command.slice(0, 80)} (pid ${p.pid}${p.user ? `, ${p.user}` : ''}): ${cpu}, ${mem}`;
}

const EVENT_WORD: Record<NotificationEvent, string> = { firing: 'FIRING', repeat: 'STILL FIRING', resolved: 'RESOLVED', test: 'TEST' };

/** "[FIRING] Filesystem almost full on web-1 (/var)" */
export function title(m: NotificationMessage): string {
  return `[${EVENT_WORD[m.event]}] ${m.rule.name} on ${m.device.name}${m.subject ? ` (${m.subject})` : ''}`;
}

/** Title, the measured line, severity and time: the plain text of chat and email channels. */
export function text(m: NotificationMessage): string {
  return `${title(m)}\n${details(m)}\nseverity ${m.severity} · ${m.at}`;
}

/** The measured line and, when known, the top processes: the body of push channels. */
export function details(m: NotificationMessage): string {
  const top = m.topProcesses?.length ? `\ntop processes:\n${m.topProcesses.map((p) => `  ${processLine(p)}`).join('\n')}` : '';
  return `${m.message}${top}`;
}
