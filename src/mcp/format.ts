/** Compact text for assistants: units a person would write, and the time arguments tools accept. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '?';
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${UNITS[i]}`;
}

export const rate = (n: number | null | undefined): string => (n === null || n === undefined ? '?' : `${bytes(n)}/s`);

export const pct = (n: number | null | undefined): string => (n === null || n === undefined ? '?' : `${n.toFixed(1)} %`);

export const num = (n: number | null | undefined, digits = 2): string => (n === null || n === undefined ? '?' : String(Number(n.toFixed(digits))));

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** "2026-11-27T10:00:00Z (3 min ago)" */
export function when(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const ago = (now - Date.parse(iso)) / 1000;
  return ago >= 0 ? `${iso} (${duration(ago)} ago)` : iso;
}

const RELATIVE = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$/i;
const SECONDS: Record<string, number> = { s: 1, m: 60, min: 60, h: 3600, d: 86_400, w: 604_800 };

/** Human-friendly spellings a tool's time argument accepts, for its description. */
export const TIME_HELP = 'an ISO-8601 time (2026-11-27T10:00:00Z) or a duration back from now (90m, 24h, 7d, 2w)';

/** An ISO-8601 time, or a duration back from `now`; null when it is neither. */
export function parseWhen(value: string, now = Date.now()): Date | null {
  const m = RELATIVE.exec(value.trim());
  if (m) return new Date(now - Number(m[1]) * SECONDS[m[2]!.toLowerCase()]! * 1000);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}

/** A titled list: at most `max` items as lines, then how many were left out; "none" when empty. */
export function section<T>(title: string, items: readonly T[], max: number, line: (item: T) => string): string[] {
  if (!items.length) return [`${title}: none`];
  const out = [`${title}:`, ...items.slice(0, max).map((i) => `  - ${line(i)}`)];
  if (items.length > max) out.push(`  - … ${items.length - max} more (all are in the structured content)`);
  return out;
}
