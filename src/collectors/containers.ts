// Containers collector: docker, or podman where docker is absent. One exec per poll runs
// `ps -a`, `stats --no-stream` and one `inspect` of all ids (exact restart counts, start
// times, health): never one exec per container.
import type { ContainerRow } from '../storage/types.ts';
import { emptyBatch } from '../storage/types.ts';
import {
  parseDockerInspect,
  parseDockerPs,
  parseDockerStats,
  type InspectEntry,
  type PsEntry,
  type StatsEntry,
} from './docker.ts';
import { splitSections } from './text.ts';
import {
  CollectorError,
  ParseError,
  type CollectContext,
  type CollectResult,
  type Collector,
  type CollectorErrorReason,
  type SkippedLine,
} from './types.ts';

/**
 * `--size=false`: `{{json .}}` would otherwise make docker compute every container's
 * writable-layer size, which is slow. The inspect template emits the keys of a real inspect
 * object so one parser reads both. `$ids` is unquoted on purpose (one argument per id); ids
 * are hex printed by the engine itself and no shell evaluation happens on them.
 */
export const CONTAINERS_COMMAND = [
  'PATH="$PATH:/usr/local/bin:/usr/bin:/bin"; export PATH; LC_ALL=C; export LC_ALL',
  'if command -v docker >/dev/null 2>&1; then E=docker',
  'elif command -v podman >/dev/null 2>&1; then E=podman',
  'else echo @@ip:engine none; exit 127; fi',
  'echo "@@ip:engine $E"',
  'echo @@ip:ps',
  '$E ps -a --no-trunc --size=false --format \'{{json .}}\' 2>&1; echo "@@ip:rc $?"',
  'echo @@ip:stats',
  '$E stats --no-stream --no-trunc --format \'{{json .}}\' 2>&1; echo "@@ip:rc $?"',
  'echo @@ip:inspect',
  'ids=$($E ps -aq --no-trunc 2>/dev/null)',
  'if [ -n "$ids" ]; then $E inspect --format \'{"Id":{{json .Id}},"RestartCount":{{json .RestartCount}},"State":{{json .State}}}\' $ids 2>&1; fi; echo "@@ip:rc $?"',
  'echo @@ip:end',
].join('\n');

/** What a failed engine command printed → why the collector cannot run. */
export function classifyEngineFailure(text: string, exitCode: number | null): CollectorErrorReason {
  if (exitCode === 127 || /command not found|not found$|No such file or directory.*(docker|podman)$/im.test(text)) {
    if (!/connect|socket|daemon/i.test(text)) return 'NOT_INSTALLED';
  }
  if (/permission denied|access denied|EACCES/i.test(text)) return 'PERMISSION_DENIED';
  if (
    /Cannot connect to the Docker daemon|Is the docker daemon running|unable to connect to Podman|error during connect|connection refused|no such file or directory/i.test(
      text,
    )
  ) {
    return 'DAEMON_DOWN';
  }
  return 'COMMAND_FAILED';
}

const MESSAGES: Record<CollectorErrorReason, string> = {
  NOT_INSTALLED: 'neither docker nor podman is installed',
  PERMISSION_DENIED: 'permission denied talking to the container engine (add the user to the docker group)',
  DAEMON_DOWN: 'the container engine daemon is not running',
  NO_DEVICES: 'no containers to read',
  BAD_OUTPUT: 'unreadable container engine output',
  COMMAND_FAILED: 'the container engine command failed',
};

export interface ContainersOutput {
  engine: string | null;
  ps: { containers: PsEntry[] } | null;
  stats: { containers: StatsEntry[] } | null;
  inspect: { containers: InspectEntry[] } | null;
  /** Sections whose command failed or printed something unreadable: [section, exit, text]. */
  failures: { section: string; exitCode: number | null; text: string }[];
  /** Lines of the sections that were left out (a CLI warning among the JSON lines). */
  skipped: SkippedLine[];
}

/** Parses the whole output of CONTAINERS_COMMAND. Pure. */
export function parseContainersOutput(output: string): ContainersOutput {
  const sections = splitSections(output);
  const out: ContainersOutput = { engine: null, ps: null, stats: null, inspect: null, failures: [], skipped: [] };
  for (let i = 0; i < sections.length; i++) {
    const s = sections[i]!;
    if (s.name === 'engine') {
      out.engine = s.args === 'none' ? null : s.args;
      continue;
    }
    if (s.name !== 'ps' && s.name !== 'stats' && s.name !== 'inspect') continue;
    const next = sections[i + 1];
    const rc = next?.name === 'rc' ? Number(next.args) : Number.NaN;
    const exitCode = Number.isInteger(rc) ? rc : null;
    if (exitCode !== 0) {
      out.failures.push({ section: s.name, exitCode, text: s.body.trim() });
      continue;
    }
    try {
      const parsed =
        s.name === 'ps'
          ? (out.ps = parseDockerPs(s.body))
          : s.name === 'stats'
            ? (out.stats = parseDockerStats(s.body))
            : (out.inspect = parseDockerInspect(s.body));
      for (const skip of parsed.skipped) out.skipped.push({ ...skip, section: s.name });
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      out.failures.push({
        section: s.name,
        exitCode,
        text: `line ${err.line}: ${err.message}`,
      });
    }
  }
  return out;
}

/** Prefix match both ways: stats may print short ids where ps printed full ones. */
function byId<T extends { id: string }>(list: T[] | undefined): (id: string) => T | undefined {
  const exact = new Map((list ?? []).map((e) => [e.id, e]));
  return (id) => {
    const hit = exact.get(id);
    if (hit !== undefined || list === undefined) return hit;
    return list.find((e) => e.id.length >= 12 && (id.startsWith(e.id) || e.id.startsWith(id)));
  };
}

export function containerRows(parsed: ContainersOutput, deviceId: string, time: Date): ContainerRow[] {
  const stats = byId(parsed.stats?.containers);
  const inspect = byId(parsed.inspect?.containers);
  return (parsed.ps?.containers ?? []).map((c) => {
    const s = stats(c.id);
    const ins = inspect(c.id);
    const running = c.state === 'running' || c.state === 'paused';
    return {
      time,
      deviceId,
      containerId: c.id,
      name: c.name,
      image: c.image,
      state: c.state,
      health: ins?.health ?? c.health,
      restartCount: ins?.restartCount ?? c.restartCount,
      exitCode: running ? null : (ins?.exitCode ?? c.exitCode),
      createdAt: c.createdAt,
      startedAt: ins?.startedAt ?? c.startedAt,
      cpuPercent: s?.cpuPercent ?? null,
      memUsageBytes: s?.memUsageBytes ?? null,
      memLimitBytes: s?.memLimitBytes ?? null,
      netRxBytes: s?.netRxBytes ?? null,
      netTxBytes: s?.netTxBytes ?? null,
      blockReadBytes: s?.blockReadBytes ?? null,
      blockWriteBytes: s?.blockWriteBytes ?? null,
      pids: s?.pids ?? null,
    };
  });
}

export type ContainersState = Record<string, never>;

export const containersCollector: Collector<ContainersState> = {
  name: 'containers',
  description: 'Containers of docker, or podman where docker is absent.',
  async collect(ctx: CollectContext<ContainersState>): Promise<CollectResult<ContainersState>> {
    const res = await ctx.runner.exec(CONTAINERS_COMMAND, { timeoutMs: ctx.timeoutMs });
    const parsed = parseContainersOutput(res.stdout);
    if (parsed.engine === null) {
      const text = `${res.stdout}\n${res.stderr}`;
      const reason = /@@ip:engine none/.test(res.stdout) ? 'NOT_INSTALLED' : classifyEngineFailure(text, res.code);
      throw new CollectorError(reason, MESSAGES[reason]);
    }
    if (parsed.ps === null) {
      const f = parsed.failures.find((x) => x.section === 'ps');
      const text = f?.text ?? res.stderr;
      const reason = f?.exitCode === 0 ? 'BAD_OUTPUT' : classifyEngineFailure(text, f?.exitCode ?? res.code);
      const detail = text.split('\n', 1)[0] ?? '';
      throw new CollectorError(reason, `${parsed.engine}: ${MESSAGES[reason]}${detail ? `: ${detail}` : ''}`);
    }
    const batch = emptyBatch();
    batch.containers = containerRows(parsed, ctx.deviceId, ctx.time);
    const problems = parsed.failures.map(
      (f) => `${parsed.engine} ${f.section} failed${f.exitCode === null ? '' : ` (exit ${f.exitCode})`}: ${f.text.split('\n', 1)[0] ?? ''}`,
    );
    return { batch, state: {}, problems, skipped: parsed.skipped };
  },
};
