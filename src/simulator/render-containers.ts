// docker ps -a / stats --no-stream / inspect output for a simulated host, in the docker CLI's
// own formats ({{json .}} lines, go-units sizes and "Up 2 hours (healthy)" statuses). Container
// lives follow the host's boot: running ones started just after it, restarting ones restart
// every restartEveryS seconds (RestartCount grows), exited ones stopped before it.
import type { ContainerProfile, HostProfile } from './profile.ts';
import { hostClock, type HostClock } from './render-system.ts';

/** go-units HumanDuration, which docker uses for Status and RunningFor. */
export function humanDuration(seconds: number): string {
  if (seconds < 1) return 'Less than a second';
  if (seconds < 2) return '1 second';
  if (seconds < 60) return `${Math.floor(seconds)} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

function goSize(size: number, base: number, units: readonly string[], precision: number): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  // %g would switch to exponent form at the unit boundary ("1e+03kB"); stay below it.
  const max = 10 ** precision - 1;
  const text = String(Number(Math.min(size, max).toPrecision(precision)));
  return `${text}${units[i]!}`;
}

/** docker stats: memory in binary units (%.4g), network and block I/O in decimal ones (%.3g). */
export const bytesSize = (n: number): string => goSize(n, 1024, BINARY, 4);
export const humanSize = (n: number): string => goSize(n, 1000, DECIMAL, 3);

function dockerTime(s: number): string {
  // "2024-05-02 09:14:07 +0000 UTC", as docker ps prints CreatedAt.
  return `${new Date(Math.floor(s) * 1000).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

const iso = (s: number): string => new Date(Math.round(s * 1000)).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
const ZERO_TIME = '0001-01-01T00:00:00Z';

interface Life {
  state: ContainerProfile['state'];
  health: 'healthy' | 'unhealthy' | 'starting' | null;
  startedS: number | null;
  finishedS: number | null;
  restarts: number;
  createdS: number;
  status: string;
}

function life(ct: ContainerProfile, c: HostClock, startS: number): Life {
  const now = c.nowS;
  const createdS = c.bootS - ct.createdBeforeBootS;
  const bootStart = Math.min(c.bootS + ct.startDelayS, now - 1);
  switch (ct.state) {
    case 'running':
    case 'paused': {
      const up = now - bootStart;
      const health = ct.health === null ? null : up < 30 ? 'starting' : ct.health;
      const suffix = ct.state === 'paused' ? ' (Paused)' : health === null ? '' : health === 'starting' ? ' (health: starting)' : ` (${health})`;
      return { state: ct.state, health, startedS: bootStart, finishedS: null, restarts: ct.restarts0, createdS, status: `Up ${humanDuration(up)}${suffix}` };
    }
    case 'restarting': {
      // The crash loop had restarted restarts0 times when the simulator started (or began at boot).
      const loopStart = Math.max(bootStart, startS - ct.restarts0 * ct.restartEveryS);
      const k = Math.max(0, Math.floor((now - loopStart) / ct.restartEveryS));
      const startedS = loopStart + k * ct.restartEveryS;
      const finishedS = Math.min(startedS + 1, now);
      return {
        state: 'restarting',
        health: null,
        startedS,
        finishedS,
        restarts: k,
        createdS,
        status: `Restarting (${ct.exitCode}) ${humanDuration(now - finishedS)} ago`,
      };
    }
    case 'exited': {
      const startedS = createdS + 2;
      const finishedS = Math.min(startedS + ct.ranForS, c.bootS - 10);
      return { state: 'exited', health: null, startedS, finishedS: Math.max(finishedS, startedS), restarts: ct.restarts0, createdS, status: `Exited (${ct.exitCode}) ${humanDuration(now - finishedS)} ago` };
    }
    case 'created':
      return { state: 'created', health: null, startedS: null, finishedS: null, restarts: 0, createdS, status: 'Created' };
  }
}

function psLine(ct: ContainerProfile, l: Life, now: number): string {
  return JSON.stringify({
    Command: ct.command,
    CreatedAt: dockerTime(l.createdS),
    ID: ct.id,
    Image: ct.image,
    Labels: ct.project === null ? '' : `com.docker.compose.project=${ct.project},com.docker.compose.service=${ct.name.split('-')[1] ?? ct.name}`,
    LocalVolumes: '0',
    Mounts: '',
    Names: ct.name,
    Networks: ct.project === null ? 'bridge' : `${ct.project}_default`,
    Ports: ct.ports,
    RunningFor: `${humanDuration(now - l.createdS)} ago`,
    Size: '0B',
    State: l.state,
    Status: l.status,
  });
}

function statsLine(h: HostProfile, ct: ContainerProfile, l: Life, c: HostClock): string {
  const up = Math.max(1, c.nowS - (l.startedS ?? c.nowS));
  const limit = h.memTotalKb * 1024;
  const mem = Math.min(limit * 0.9, ct.memBytes * (0.9 + 0.1 * Math.sin(c.nowS / 600 + ct.cpuPercent.p1)));
  const cpu = ct.state === 'paused' ? 0 : Math.min(h.cores * 100, ct.cpuPercent.at(c.uptimeS));
  const net = ct.netBytesPerS * up;
  const block = ct.blockBytesPerS * up;
  return JSON.stringify({
    BlockIO: `${humanSize(block * 0.3)} / ${humanSize(block)}`,
    CPUPerc: `${cpu.toFixed(2)}%`,
    Container: ct.id,
    ID: ct.id,
    MemPerc: `${((mem / limit) * 100).toFixed(2)}%`,
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    Name: ct.name,
    NetIO: `${humanSize(net)} / ${humanSize(net * 0.6)}`,
    PIDs: String(ct.pids),
  });
}

function inspectLine(ct: ContainerProfile, l: Life, c: HostClock, index: number): string {
  const running = l.state === 'running' || l.state === 'paused';
  const state: Record<string, unknown> = {
    Status: l.state,
    Running: running || l.state === 'restarting',
    Paused: l.state === 'paused',
    Restarting: l.state === 'restarting',
    OOMKilled: l.state === 'exited' && ct.exitCode === 137,
    Dead: false,
    Pid: running ? 1000 + ((ct.pids * 7919 + index * 131) % 60000) : 0,
    ExitCode: running ? 0 : ct.exitCode,
    Error: '',
    StartedAt: l.startedS === null ? ZERO_TIME : iso(l.startedS),
    FinishedAt: l.finishedS === null ? ZERO_TIME : iso(l.finishedS),
  };
  if (ct.health !== null && running) {
    const since = c.nowS - (l.startedS ?? c.nowS);
    const unhealthy = l.health === 'unhealthy';
    const at = c.nowS - (c.nowS % 30);
    state.Health = {
      Status: l.health,
      FailingStreak: unhealthy ? Math.floor((since - 30) / 30) + 1 : 0,
      Log: [
        {
          Start: iso(at),
          End: iso(at + 0.05),
          ExitCode: unhealthy ? 1 : 0,
          Output: unhealthy ? 'curl: (7) Failed to connect to localhost port 8080: Connection refused\n' : '',
        },
      ],
    };
  }
  return `{"Id":${JSON.stringify(ct.id)},"RestartCount":${l.restarts},"State":${JSON.stringify(state)}}`;
}

/** The whole answer to the containers collector's command. */
export function renderContainers(h: HostProfile, nowMs: number, startMs: number): string {
  const c = hostClock(h, nowMs);
  const lives = h.containers.map((ct) => life(ct, c, startMs / 1000));
  let ps = '';
  let stats = '';
  let inspect = '';
  h.containers.forEach((ct, i) => {
    const l = lives[i]!;
    ps += psLine(ct, l, c.nowS) + '\n';
    if (l.state === 'running' || l.state === 'paused') stats += statsLine(h, ct, l, c) + '\n';
    inspect += inspectLine(ct, l, c, i) + '\n';
  });
  return (
    '@@ip:engine docker\n' +
    `@@ip:ps\n${ps}@@ip:rc 0\n` +
    `@@ip:stats\n${stats}@@ip:rc 0\n` +
    `@@ip:inspect\n${inspect}@@ip:rc 0\n` +
    '@@ip:end\n'
  );
}

/** What a poll reports for each container right now: state, health and restarts. */
export function containerStates(
  h: HostProfile,
  nowMs: number,
  startMs: number,
): { name: string; state: string; health: string | null; restarts: number }[] {
  const c = hostClock(h, nowMs);
  return h.containers.map((ct) => {
    const l = life(ct, c, startMs / 1000);
    return { name: ct.name, state: l.state, health: l.health, restarts: l.restarts };
  });
}
