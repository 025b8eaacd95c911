// Which answer a command gets. The collectors' constant command texts are matched exactly
// first; a changed variant is still recognised by its section markers, so a collector edit
// that adds a line does not silently turn the fleet into "command not found". A few plain
// commands work too, for poking at a host with `ssh host-0001@… cat /proc/loadavg`.
import { SYSTEM_COMMAND } from '../collectors/system.ts';
import { DRIVES_COMMAND, DRIVES_COMMAND_SUDO } from '../collectors/drives.ts';
import { CONTAINERS_COMMAND } from '../collectors/containers.ts';
import { TOP_PROCESSES_COMMAND } from '../collectors/top-processes.ts';
import { STORAGE_COMMAND } from '../collectors/pools.ts';
import { HWMON_COMMAND } from '../collectors/sensors.ts';
import { GPU_COMMAND } from '../collectors/gpu-collector.ts';
import { renderGpu, renderHwmon, renderStorage } from './render-hardware.ts';
import { answerCheck } from './render-checks.ts';
import type { HostProfile } from './profile.ts';
import { renderContainers } from './render-containers.ts';
import { renderDriveReport, renderDrives, renderScan, type DriveClock } from './render-drives.ts';
import { renderTopProcesses } from './render-processes.ts';
import {
  hostClock,
  renderDf,
  renderDiskstats,
  renderLoadavg,
  renderMeminfo,
  renderNetDev,
  renderStat,
  renderSystem,
  renderUptime,
  type HostClock,
} from './render-system.ts';

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export type CommandKind = 'system' | 'drives' | 'containers' | 'processes' | 'storage' | 'sensors' | 'gpu' | 'checks' | 'simple' | 'unknown';

export interface ExecTime {
  nowMs: number;
  /** The simulator's start: drive defects grow from here. */
  startMs: number;
}

const EXACT = new Map<string, CommandKind>([
  [SYSTEM_COMMAND, 'system'],
  [DRIVES_COMMAND, 'drives'],
  [DRIVES_COMMAND_SUDO, 'drives'],
  [CONTAINERS_COMMAND, 'containers'],
  [TOP_PROCESSES_COMMAND, 'processes'],
  [STORAGE_COMMAND, 'storage'],
  [HWMON_COMMAND, 'sensors'],
  [GPU_COMMAND, 'gpu'],
]);

export function classifyCommand(command: string): CommandKind {
  const exact = EXACT.get(command);
  if (exact !== undefined) return exact;
  if (command.includes('@@ip:')) {
    if (command.includes('@@ip:stat') && command.includes('/proc/stat')) return 'system';
    if (command.includes('smartctl') && command.includes('--scan-open')) return 'drives';
    if (command.includes('@@ip:engine') && command.includes(' ps -a')) return 'containers';
    if (command.includes('@@ip:top-processes-clock')) return 'processes';
    if (command.includes('@@ip:mdstat') && command.includes('zpool')) return 'storage';
    if (command.includes('@@ip:no-hwmon')) return 'sensors';
    if (command.includes('@@ip:no-nvidia-smi')) return 'gpu';
  }
  if (SIMPLE.has(command.trim()) || /^(sudo -n )?smartctl\b/.test(command.trim())) return 'simple';
  return CHECK_COMMAND.test(command) ? 'checks' : 'unknown';
}

/** What render-checks.ts may know: systemctl, a file test, a Monitoring-Plugins plugin by name (optionally negated with `!`). */
const CHECK_COMMAND = /^\s*(!\s+)?(systemctl\s|test\s|\[\s|(\S*\/)?check_(disk|load|file_age)(\s|$))/;

type Simple = (h: HostProfile, c: HostClock, t: ExecTime) => string;

const SIMPLE = new Map<string, Simple>([
  ['cat /proc/uptime', (h, c) => renderUptime(h, c)],
  ['cat /proc/stat', (h, c) => renderStat(h, c)],
  ['cat /proc/meminfo', (h, c) => renderMeminfo(h, c)],
  ['cat /proc/loadavg', (h, c) => renderLoadavg(h, c)],
  ['cat /proc/net/dev', (h, c) => renderNetDev(h, c)],
  ['cat /proc/diskstats', (h, c) => renderDiskstats(h, c)],
  ['df -PTB1', (h, c) => renderDf(h, c)],
  ['hostname', (h) => `${h.username}\n`],
  ['uname -r', (h) => `${h.kernel}\n`],
  ['uname -a', (h) => `Linux ${h.username} ${h.kernel} #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\n`],
  ['nproc', (h) => `${h.cores}\n`],
  ['true', () => ''],
]);

function notFound(command: string): CommandResult {
  const name = command.trim().split(/\s+/, 1)[0] ?? '';
  return { stdout: '', stderr: `sh: 1: ${name}: not found\n`, code: 127 };
}

function smartctl(h: HostProfile, command: string, clock: DriveClock): CommandResult {
  const args = command.trim().replace(/^sudo -n /, '').split(/\s+/).slice(1);
  if (args.includes('--scan-open') || args.includes('--scan')) return { stdout: renderScan(h), stderr: '', code: 0 };
  const device = args[args.length - 1];
  const d = h.drives.find((x) => x.device === device);
  if (d === undefined) {
    return { stdout: `smartctl 7.3 2022-02-28 r5338 [x86_64-linux-${h.kernel}] (local build)\n\n${device ?? ''}: Unable to detect device type\n`, stderr: '', code: 1 };
  }
  const r = renderDriveReport(h, d, clock, args.includes('--json=c'));
  return { stdout: r.text, stderr: '', code: r.exit };
}

export function runCommand(h: HostProfile, command: string, t: ExecTime): CommandResult {
  switch (classifyCommand(command)) {
    case 'system':
      return { stdout: renderSystem(h, t.nowMs), stderr: '', code: 0 };
    case 'drives':
      return { stdout: renderDrives(h, t), stderr: '', code: 0 };
    case 'containers':
      return { stdout: renderContainers(h, t.nowMs, t.startMs), stderr: '', code: 0 };
    case 'processes':
      return { stdout: renderTopProcesses(h, t.nowMs), stderr: '', code: 0 };
    case 'storage':
      return { stdout: renderStorage(h, t), stderr: '', code: 0 };
    case 'sensors':
      return { stdout: renderHwmon(h, t), stderr: '', code: 0 };
    case 'gpu':
      return { stdout: renderGpu(h, t), stderr: '', code: 0 };
    case 'simple': {
      const trimmed = command.trim();
      const simple = SIMPLE.get(trimmed);
      if (simple !== undefined) return { stdout: simple(h, hostClock(h, t.nowMs), t), stderr: '', code: 0 };
      return smartctl(h, trimmed, t);
    }
    case 'checks': {
      const r = answerCheck(h, command, t);
      return r === undefined ? { stdout: '', stderr: `infrapulse simulator: no answer for this form of the command: ${command.trim()}\n`, code: 3 } : { ...r, stderr: '' };
    }
    case 'unknown':
      return notFound(command);
  }
}
