// systemd units: `systemctl list-units` listings, with the commands the checks will run, and
// their pure parser.
import type { SkippedLine } from './types.ts';
import { failIfNothingRead, fields, lines, skipLine } from './text.ts';

const SYSTEMCTL = 'systemctl list-units --plain --no-legend --no-pager --full';

/** Every loaded unit: the state of any one can be read from it. */
export const SYSTEMCTL_COMMAND = `${SYSTEMCTL} --all`;

/** Failed units only: empty output on a healthy host. */
export const SYSTEMCTL_FAILED_COMMAND = `${SYSTEMCTL} --state=failed`;

export interface SystemdUnit {
  unit: string;
  /** loaded, not-found, bad-setting, error, masked, … */
  load: string;
  /** active, inactive, failed, activating, deactivating, reloading, maintenance, refreshing */
  active: string;
  /** The unit type's own state: running, exited, dead, plugged, mounted, waiting, … */
  sub: string;
  /** A pending job (start, stop, …) when the listing has a JOB column. */
  job: string | null;
  description: string;
}

const UNIT_NAME = /^\S+\.(service|socket|target|device|mount|automount|swap|timer|path|slice|scope)$/;
const LOAD_STATES = new Set(['loaded', 'not-found', 'bad-setting', 'error', 'masked', 'stub', 'merged']);
const ACTIVE_STATES = new Set(['active', 'reloading', 'inactive', 'failed', 'activating', 'deactivating', 'maintenance', 'refreshing']);
const JOB_TYPES = new Set(['start', 'stop', 'reload', 'restart', 'try-restart', 'reload-or-start', 'verify-active', 'nop']);
/** The header, the legend and the footer systemctl prints without --no-legend. */
const LEGEND = /^(UNIT\s+LOAD\s+ACTIVE\s+SUB\b|(LOAD|ACTIVE|SUB|JOB)\s+[=→]|Legend:|\d+ (loaded )?units? listed\b|To show all installed unit files|Pass --all to see)/;

/**
 * `systemctl list-units` in any of its forms: with or without the header and legend, --plain
 * or with the "●" (or "*") marker before failed and not-found units. Unit names never hold
 * spaces (systemd escapes them as \x20), so the description is the rest of the line.
 */
export function parseSystemctl(text: string): { units: SystemdUnit[]; failed: string[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const units: SystemdUnit[] = [];
  const skipped: SkippedLine[] = [];
  let hasJob = false;
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!.replace(/^\s*[●*]?\s*/, '');
    if (line === '') continue;
    if (LEGEND.test(line)) {
      if (line.startsWith('UNIT')) hasJob = /\bSUB\s+JOB\b/.test(line);
      continue;
    }
    const t = fields(line);
    const [unit, load, active, sub] = t;
    if (unit === undefined || !UNIT_NAME.test(unit) || !LOAD_STATES.has(load ?? '') || !ACTIVE_STATES.has(active ?? '') || sub === undefined) {
      skipLine(skipped, i + 1, ls[i]!, 'expected "UNIT LOAD ACTIVE SUB DESCRIPTION" (systemctl list-units)');
      continue;
    }
    // Units without a pending job leave the JOB column blank.
    const job = hasJob && JOB_TYPES.has(t[4] ?? '') ? t[4]! : null;
    const at = line.match(new RegExp(`^(?:\\S+\\s+){${job === null ? 4 : 5}}`))?.[0].length ?? line.length;
    units.push({ unit, load: load!, active: active!, sub, job, description: line.slice(at).trim() });
  }
  failIfNothingRead(skipped, units.length);
  const failed = [...new Set(units.filter((u) => u.active === 'failed').map((u) => u.unit))];
  return { units, failed, skipped };
}
