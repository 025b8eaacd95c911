/** What the figures came from: they mean little without the machine and its load at the time. */
import fs from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalGB: number;
  node: string;
  /**
   * A guest of a hypervisor (the CPU's `hypervisor` flag), and whether its kernel isolates page
   * tables (PTI: every syscall, interrupt and page fault switches them). Runs of the same code on
   * two machines of one kind differed by 40 % in poller CPU; these are what tell such machines
   * apart (docs/benchmarks.md, "A guest that pays for every kernel entry"). Undefined off Linux.
   */
  virtualised?: boolean;
  pageTableIsolation?: boolean;
  /** 1/5/15-minute load averages when the run started and ended: other work shares the cores. */
  loadavgStart: number[];
  loadavgEnd?: number[];
}

const readText = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // not Linux, or a kernel that does not say
  }
};

export function machineInfo(): MachineInfo {
  const cpuinfo = readText('/proc/cpuinfo');
  const meltdown = readText('/sys/devices/system/cpu/vulnerabilities/meltdown');
  return {
    nproc: os.availableParallelism(),
    // Off Linux os.cpus() is what there is.
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo ?? '')?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    ...(cpuinfo === undefined ? {} : { virtualised: /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo) }),
    ...(meltdown === undefined ? {} : { pageTableIsolation: /\bPTI\b/.test(meltdown) }),
    memTotalGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavgStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
