/**
 * "Which process caused it": a firing CPU or memory alert names the device's top three
 * processes at that moment, from one run of TOP_PROCESSES_COMMAND over the connection the
 * poller keeps. It runs in the notifier's detached send, never on the evaluation queue, and a
 * host that cannot answer only leaves the list out.
 */
import { parseTopProcesses, rankProcesses, TOP_PROCESSES_COMMAND, TOP_PROCESSES_EXEC, type ProcessOrder } from '../collectors/top-processes.ts';
import type { Logger } from '../log.ts';
import type { ExecOptions, ExecResult } from '../transport/types.ts';
import type { AlertMetric } from './rules.ts';
import type { NotificationMessage } from './message.ts';

/** Runs a command on a device over the poller's connection; undefined where this instance does not poll it. */
export type ExecOn = (deviceId: string, command: string, options: ExecOptions) => Promise<ExecResult> | undefined;

const ORDER: Partial<Record<AlertMetric, ProcessOrder>> = { CPU_PERCENT: 'CPU', MEM_USED_PERCENT: 'MEMORY' };
export const CULPRITS = 3;

/** Adds `topProcesses` to a firing CPU or memory notification; any other message, or a failure, passes unchanged. */
export function withCulprits(execOn: ExecOn, log: Logger): (m: NotificationMessage) => Promise<NotificationMessage> {
  return async (m) => {
    const by = m.rule.metric ? ORDER[m.rule.metric] : undefined;
    if (m.event !== 'firing' || !by) return m;
    try {
      const run = execOn(m.device.id, TOP_PROCESSES_COMMAND, TOP_PROCESSES_EXEC);
      if (!run) return m;
      const top = rankProcesses(parseTopProcesses((await run).stdout).processes, by, CULPRITS);
      return { ...m, topProcesses: top.map((p) => ({ pid: p.pid, user: p.user, command: p.command, cpuPercent: p.cpuPercent, memoryBytes: p.memoryBytes })) };
    } catch (err) {
      log.info({ alertId: m.alertId, deviceId: m.device.id, err: (err as Error).message }, 'alert sent without its top processes: the host did not answer');
      return m;
    }
  };
}
