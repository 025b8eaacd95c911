// TOP_PROCESSES_COMMAND's answer for a simulated host: the clock line, two samples half a
// second apart of /proc/uptime, /proc/[pid]/stat and /proc/[pid]/io, then `ps -e -o
// pid=,user:32=,args=`. Each process holds a fixed share of the host's busy CPU time (the
// same per-core waves /proc/stat follows), so the list adds up to the host's CPU usage, and a
// fixed share of its used memory; its I/O counters grow at a steady rate.
import type { HostProfile } from './profile.ts';
import { hostClock } from './render-system.ts';

const USER_HZ = 100;
const PAGE = 4096;
/** What the host's processes do with its busy time; the rest is short-lived commands and the kernel. */
const ACCOUNTED = 0.9;

interface SimProcess {
  pid: number;
  ppid: number;
  user: string;
  comm: string;
  /** ps args; a kernel thread has none and ps shows [comm]. */
  args: string;
  state: string;
  threads: number;
  /** Seconds after boot it started. */
  startS: number;
  /** Weight of the host's busy CPU time and of its used memory (normalised below). */
  cpu: number;
  mem: number;
  readPerS: number;
  writePerS: number;
}

const base = (pid: number, user: string, comm: string, args: string, cpu: number, mem: number, startS: number, io: [number, number] = [0, 0]): SimProcess => ({
  pid, ppid: pid === 1 ? 0 : 1, user, comm, args, state: 'S', threads: 1, startS, cpu, mem, readPerS: io[0], writePerS: io[1],
});

/** The host's long-lived processes: system services, the container engine, each running container's main process, a workload. */
function processesOf(h: HostProfile): SimProcess[] {
  const running = h.containers.filter((c) => c.state === 'running');
  const list: SimProcess[] = [
    base(1, 'root', 'systemd', '/sbin/init', 0.01, 0.02, 0),
    { ...base(2, 'root', 'kthreadd', '', 0, 0, 0), ppid: 0 },
    { ...base(48, 'root', 'kworker/0:1-events', '', 0.02, 0, 1), ppid: 2, state: 'I' },
    base(311, 'root', 'systemd-journal', '/lib/systemd/systemd-journald', 0.02, 0.03, 2, [0, 12_000]),
    base(622, 'root', 'sshd', 'sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups', 0.005, 0.01, 4),
    base(640, 'root', 'cron', '/usr/sbin/cron -f', 0.001, 0.005, 4),
    { ...base(1402, 'app', 'python3', '/usr/bin/python3 /opt/app/worker.py --queue default', 6, 0.25, 20, [40_000, 250_000]), state: 'R', threads: 4 },
  ];
  if (h.containers.length > 0) {
    list.push({ ...base(905, 'root', 'containerd', '/usr/bin/containerd', 0.03, 0.04, 5), threads: 14 });
    list.push({ ...base(931, 'root', 'dockerd', '/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock', 0.04, 0.08, 6), threads: 22 });
  }
  running.forEach((c, i) => {
    const args = c.command.replace(/^"|"$/g, '').trim() || c.image;
    const comm = (args.split(/\s+/, 1)[0] ?? c.name).split('/').pop()!.slice(0, 15);
    list.push({ ...base(2000 + i * 37, i % 3 === 2 ? '999' : 'root', comm, args, 1 + (i % 4) * 0.5, 0.1 + (i % 3) * 0.05, c.startDelayS, [i * 1500, 20_000 + i * 3000]), ppid: 2000 + i * 37 - 2, threads: c.pids });
  });
  return list;
}

function busyTicks(h: HostProfile, u: number): number {
  let s = 0;
  for (const w of h.coreBusy) s += w.integral(u);
  return USER_HZ * s;
}

function statLine(p: SimProcess, cpuTicks: number, rssPages: number): string {
  const f = new Array<number | string>(52).fill(0);
  const utime = Math.floor(cpuTicks * 0.8);
  [f[0], f[1], f[2], f[3], f[4], f[5], f[7], f[8]] = [p.pid, `(${p.comm})`, p.state, p.ppid, p.pid, p.pid, -1, p.args ? 4194560 : 2129984];
  [f[13], f[14], f[17], f[18], f[19]] = [utime, Math.floor(cpuTicks) - utime, 20, 0, p.threads];
  [f[21], f[22], f[23], f[24]] = [Math.floor(p.startS * USER_HZ), p.args ? rssPages * PAGE * 4 : 0, rssPages, '18446744073709551615'];
  f[38] = p.pid % 2;
  return f.join(' ');
}

function sample(h: HostProfile, list: SimProcess[], u: number): string {
  const busy = busyTicks(h, u);
  const usedBytes = h.memTotalKb * 1024 * h.memUsed.at(u);
  const cpuWeight = list.reduce((s, p) => s + p.cpu, 0);
  const memWeight = list.reduce((s, p) => s + p.mem, 0);
  let stat = '';
  let io = '';
  for (const p of list) {
    // Busy time since the process started, its share of it.
    const ticks = (ACCOUNTED * p.cpu * (busy - busyTicks(h, Math.min(u, p.startS)))) / cpuWeight;
    stat += `${statLine(p, ticks, Math.floor((ACCOUNTED * usedBytes * p.mem) / memWeight / PAGE))}\n`;
    const alive = Math.max(0, u - p.startS);
    io += `/proc/${p.pid}/io:read_bytes: ${Math.floor(p.readPerS * alive)}\n/proc/${p.pid}/io:write_bytes: ${Math.floor(p.writePerS * alive)}\n`;
  }
  return `@@ip:top-processes-uptime\n${u.toFixed(2)} ${(u * h.cores * 0.8).toFixed(2)}\n@@ip:top-processes-stat\n${stat}@@ip:top-processes-io\n${io}`;
}

export function renderTopProcesses(h: HostProfile, nowMs: number): string {
  const u = hostClock(h, nowMs).uptimeS;
  // The host's processes started after boot: a host that has just rebooted has fewer.
  const list = processesOf(h).filter((p) => p.startS <= u);
  const self = 30_000 + (Math.floor(u) % 20_000);
  const ps = list.map((p) => `${String(p.pid).padStart(7)} ${p.user.padEnd(32)} ${p.args || `[${p.comm}]`}\n`).join('');
  return `@@ip:top-processes-clock ${self} ${USER_HZ} ${PAGE}\n${sample(h, list, u)}${sample(h, list, u + 0.5)}@@ip:top-processes-ps\n${ps}`;
}
