// What a simulated host answers to the commands checks usually run (docs/checks.md): systemctl's
// failed-unit listing and `is-active`, the reboot-required flag file, and three Monitoring-Plugins
// plugins (check_disk, check_load, check_file_age as the backup-age check), in the plugins'
// own output format (test/fixtures/captured/check-plugin-*.txt). Failures come and go on the
// hardware faults' cycle (render-hardware.ts, same per-host offset): certbot fails for a while,
// then the nightly backup fails (its unit is failed and the last-success file grows old), then a
// reboot is required until the cycle ends. check_disk and check_load read the same filesystem
// usage and load the host's df and /proc/loadavg show.
import type { HostProfile } from './profile.ts';
import { cycleSecond } from './render-hardware.ts';
import { hostClock, renderDf, renderLoadavg } from './render-system.ts';

/** [from, to) seconds into the fault cycle. */
const WINDOWS = { certbotFailed: [100, 280], backupFailed: [700, 1100], rebootRequired: [1200, 1800] } as const;

/** Where the simulated backup job leaves its mark (docs/checks.md's backup example). */
export const BACKUP_MARK = '/var/backups/last-success';
const REBOOT_FLAGS = new Set(['/var/run/reboot-required', '/run/reboot-required']);
/** A backup that ran last night, and one that has been failing for a day longer. */
const BACKUP_AGE_OK_S = 3 * 3600;
const BACKUP_AGE_FAILED_S = 30 * 3600;

export interface CheckFaults {
  certbotFailed: boolean;
  backupFailed: boolean;
  rebootRequired: boolean;
  /** Seconds since BACKUP_MARK was last touched. */
  backupAgeS: number;
}

type Time = { nowMs: number; startMs: number };

export function checkFaults(h: HostProfile, t: Time): CheckFaults {
  const s = cycleSecond(h, t);
  const inside = ([from, to]: readonly [number, number]) => s >= from && s < to;
  const backupFailed = inside(WINDOWS.backupFailed);
  return {
    certbotFailed: inside(WINDOWS.certbotFailed),
    backupFailed,
    rebootRequired: inside(WINDOWS.rebootRequired),
    backupAgeS: Math.floor(backupFailed ? BACKUP_AGE_FAILED_S + s - WINDOWS.backupFailed[0] : BACKUP_AGE_OK_S + s),
  };
}

type Unit = [unit: string, load: string, active: string, sub: string, description: string];

/** The host's loaded units (as `list-units --all` lists them), in systemctl's order. */
function unitsOf(h: HostProfile, f: CheckFaults): Unit[] {
  const service = (name: string, description: string, failed = false, oneshot = false): Unit =>
    [`${name}.service`, 'loaded', failed ? 'failed' : oneshot ? 'inactive' : 'active', failed ? 'failed' : oneshot ? 'dead' : 'running', description];
  const units: Unit[] = [
    service('backup', 'Nightly backup to the NAS', f.backupFailed, true),
    service('certbot', 'Certbot', f.certbotFailed, true),
    service('cron', 'Regular background program processing daemon'),
    service('ssh', 'OpenBSD Secure Shell server'),
    service('systemd-journald', 'Journal Service'),
    service('systemd-logind', 'User Login Management'),
    service('systemd-timesyncd', 'Network Time Synchronization'),
  ];
  if (h.containers.length > 0) units.push(service('containerd', 'containerd container runtime'), service('docker', 'Docker Application Container Engine'));
  units.push(['backup.timer', 'loaded', 'active', 'waiting', 'Nightly backup timer'], ['multi-user.target', 'loaded', 'active', 'active', 'Multi-User System']);
  return units.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

interface Answer {
  stdout: string;
  code: number;
}

function systemctl(h: HostProfile, args: string[], t: Time): Answer | undefined {
  const units = unitsOf(h, checkFaults(h, t));
  if (args[0] === 'list-units') {
    const failedOnly = args.includes('--state=failed');
    const rows = units.filter((u) => !failedOnly || u[2] === 'failed').filter((u) => failedOnly || args.includes('--all') || u[2] !== 'inactive');
    const width = Math.max(0, ...rows.map((u) => u[0].length));
    return { stdout: rows.map((u) => `${u[0].padEnd(width)} ${u[1]} ${u[2].padEnd(8)} ${u[3].padEnd(7)} ${u[4]}\n`).join(''), code: 0 };
  }
  if (args[0] === 'is-active' || args[0] === 'is-failed') {
    const names = args.slice(1).filter((a) => !a.startsWith('-'));
    if (names.length === 0) return undefined;
    const states = names.map((n) => units.find((u) => u[0] === n || u[0] === `${n}.service`)?.[2] ?? 'inactive');
    const yes = states.map((s) => (args[0] === 'is-active' ? s === 'active' : s === 'failed'));
    // systemctl: 0 when any unit is (is-active: active; is-failed: failed), else 3 (is-active) or 1.
    return { stdout: args.includes('--quiet') || args.includes('-q') ? '' : states.map((s) => `${s}\n`).join(''), code: yes.some(Boolean) ? 0 : args[0] === 'is-active' ? 3 : 1 };
  }
  return undefined;
}

/** `test -f FILE`, `test -e FILE`, `[ -f FILE ]`: the reboot flag and the backup mark are the only files a check finds. */
function testFile(h: HostProfile, tokens: string[], t: Time): Answer | undefined {
  const args = tokens[0] === '[' ? (tokens.at(-1) === ']' ? tokens.slice(1, -1) : undefined) : tokens.slice(1);
  if (args?.length !== 2 || !['-f', '-e', '-s'].includes(args[0]!)) return undefined;
  const path = args[1]!;
  const exists = REBOOT_FLAGS.has(path) ? checkFaults(h, t).rebootRequired && args[0] !== '-s' : path === BACKUP_MARK && args[0] !== '-s';
  return { stdout: '', code: exists ? 0 : 1 };
}

/** The value after an option (`-w 20%`, `-w20%`, `--warning=20%`). */
function option(args: string[], short: string, long: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === short || a === long) return args[i + 1];
    if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    if (a.startsWith(short) && a.length > short.length && !a.startsWith('--')) return a.slice(short.length);
  }
  return undefined;
}

const STATUS_WORD = ['OK', 'WARNING', 'CRITICAL'] as const;
const level = (value: number, warn: number, crit: number): 0 | 1 | 2 => (value > crit ? 2 : value > warn ? 1 : 0);

/** check_disk -w N% -c N% -p MOUNT: free space of one filesystem, as df shows it. */
function checkDisk(h: HostProfile, args: string[], t: Time): Answer {
  const mount = option(args, '-p', '--path') ?? '/';
  const warnFree = Number.parseFloat(option(args, '-w', '--warning') ?? '20');
  const critFree = Number.parseFloat(option(args, '-c', '--critical') ?? '10');
  const row = renderDf(h, hostClock(h, t.nowMs))
    .split('\n')
    .map((l) => l.split(/\s+/))
    .find((r) => r[6] === mount);
  if (row === undefined) return { stdout: `DISK CRITICAL - ${mount} is not accessible: No such file or directory\n`, code: 2 };
  const [size, used, avail] = [Number(row[2]), Number(row[3]), Number(row[4])];
  const freePct = Math.round((avail * 100) / (used + avail || 1));
  const code = freePct < critFree ? 2 : freePct < warnFree ? 1 : 0;
  const perf = `${mount}=${used}B;${Math.round(size * (1 - warnFree / 100))};${Math.round(size * (1 - critFree / 100))};0;${size}`;
  return { stdout: `DISK ${STATUS_WORD[code]} - free space: ${mount} ${Math.floor(avail / 2 ** 20)}MiB (${freePct}% inode=96%);| ${perf}\n`, code };
}

/** check_load -w a,b,c -c a,b,c [-r]: the host's load averages, per CPU with -r. */
function checkLoad(h: HostProfile, args: string[], t: Time): Answer {
  const triple = (text: string | undefined, fallback: number[]) => {
    const v = (text ?? '').split(',').map(Number.parseFloat);
    return [0, 1, 2].map((i) => (Number.isFinite(v[i]) ? v[i]! : Number.isFinite(v[0]) ? v[0]! : fallback[i]!));
  };
  const warn = triple(option(args, '-w', '--warning'), [5, 4, 3]);
  const crit = triple(option(args, '-c', '--critical'), [10, 8, 6]);
  const scaled = args.includes('-r') || args.includes('--percpu');
  const load = renderLoadavg(h, hostClock(h, t.nowMs)).split(' ').slice(0, 3).map(Number);
  const judged = scaled ? load.map((l) => l / h.cores) : load;
  const code = Math.max(...judged.map((l, i) => level(l, warn[i]!, crit[i]!))) as 0 | 1 | 2;
  const f2 = (n: number) => n.toFixed(2);
  const f3 = (n: number) => n.toFixed(3);
  const names = ['load1', 'load5', 'load15'];
  if (!scaled) {
    const perf = load.map((l, i) => `${names[i]}=${f3(l)};${f3(warn[i]!)};${f3(crit[i]!)};0; `).join('');
    return { stdout: `LOAD ${STATUS_WORD[code]} - total load average: ${load.map(f2).join(', ')}|${perf}\n`, code };
  }
  const perf = load.map((l, i) => `${names[i]}=${f3(l)};;;0; scaled_${names[i]}=${f3(judged[i]!)};${f3(warn[i]!)};${f3(crit[i]!)};0; `).join('');
  return { stdout: `LOAD ${STATUS_WORD[code]} - scaled load average: ${judged.map(f2).join(', ')} - total load average: ${load.map(f2).join(', ')}|${perf}\n`, code };
}

/** check_file_age -w S -c S -f FILE: only the backup mark exists on a simulated host. */
function checkFileAge(h: HostProfile, args: string[], t: Time): Answer {
  const file = option(args, '-f', '--file') ?? args.filter((a) => !a.startsWith('-')).at(-1) ?? '';
  const warn = Number.parseFloat(option(args, '-w', '--warning-age') ?? '240');
  const crit = Number.parseFloat(option(args, '-c', '--critical-age') ?? '600');
  if (file !== BACKUP_MARK) return { stdout: `FILE_AGE CRITICAL: File not found - ${file}\n`, code: 2 };
  const age = checkFaults(h, t).backupAgeS;
  const code = level(age, warn, crit);
  return { stdout: `FILE_AGE ${STATUS_WORD[code]}: ${file} is ${age} seconds old and 0 bytes | age=${age}s;${warn};${crit} size=0B;0;0;0\n`, code };
}

const PLUGINS: Record<string, (h: HostProfile, args: string[], t: Time) => Answer> = { check_disk: checkDisk, check_load: checkLoad, check_file_age: checkFileAge };

/** The answer to a check-style command, or undefined when it is not one the simulator knows. */
export function answerCheck(h: HostProfile, command: string, t: Time): Answer | undefined {
  const tokens = command.trim().split(/\s+/);
  // The shell's `! cmd` (exit 1 when cmd succeeds, else 0): `! test -f /var/run/reboot-required` is WARNING when a reboot is due.
  if (tokens[0] === '!') {
    const inner = answerCheck(h, tokens.slice(1).join(' '), t);
    return inner && { stdout: inner.stdout, code: inner.code === 0 ? 1 : 0 };
  }
  const [first = '', ...args] = tokens;
  if (first === 'systemctl') return systemctl(h, args.filter((a) => a !== '--no-pager'), t);
  if (first === 'test' || first === '[') return testFile(h, tokens, t);
  const plugin = PLUGINS[first.split('/').pop() ?? ''];
  return plugin?.(h, args, t);
}
