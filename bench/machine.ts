/** What the figures came from: they mean little without the machine and its load at the time. */
import fs from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalGB: number;
  node: string;
  /** 1/5/15-minute load averages when the run started and ended: other work shares the cores. */
  loadavgStart: number[];
  loadavgEnd?: number[];
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux: os.cpus() is what there is
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    memTotalGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavgStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
