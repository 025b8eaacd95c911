// TOP_PROCESSES_COMMAND and its parser: our captures (a fresh PID namespace running
// test/fixtures/captured/proc-scene/scene-top.sh), forged markers, ps's lifetime fallback, and
// the command itself run here through /bin/sh beside a busy loop of the test's own.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseTopProcesses, rankProcesses, TOP_PROCESSES_COMMAND, type TopProcess } from '../../../src/collectors/top-processes.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { createLocalRunner } from '../../../src/transport/local.ts';
import { captured, caseInput } from '../../helpers/fixtures.ts';

const byPid = (ps: TopProcess[]) => new Map(ps.map((p) => [p.pid, p]));

describe('parseTopProcesses', () => {
  it('reads two samples taken as user nobody: CPU over the interval, I/O only of its own processes, the command itself left out', () => {
    const r = parseTopProcesses(captured('top-processes-nobody.txt'));
    expect(r.cpuBasis).toBe('INTERVAL');
    expect(r.intervalSeconds).toBe(0.57); // uptime 653.90 → 654.47
    expect(r.skipped).toEqual([]);
    // Its shell (63) and that shell's ps (91) are not the host's load; dd 70 exited in between.
    expect(r.processes.map((p) => p.pid).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 6, 58, 84]);
    const p = byPid(r.processes);
    // The busy loop: 112 - 85 ticks of 1/100 s in 0.57 s.
    expect(p.get(2)).toEqual({
      pid: 2, ppid: 1, user: 'root', command: 'sh -c while :; do :; done', state: 'R', cpuPercent: 47.4,
      memoryBytes: 404 * 4096, ioReadBytesPerSecond: null, ioWriteBytesPerSecond: null,
    });
    // nobody's writer loop: one tick of its own; its /proc/6/io is readable to nobody, 100,663,296 bytes more in 0.57 s.
    expect(p.get(6)).toMatchObject({ user: 'nobody', cpuPercent: 1.8, ioReadBytesPerSecond: 0, ioWriteBytesPerSecond: 176602273.7 });
    // A dd started between the samples (start 654.42 s): all its ticks are new; gone before the second grep, so no I/O.
    expect(p.get(84)).toMatchObject({ ppid: 6, command: 'dd', cpuPercent: 0, ioWriteBytesPerSecond: null });
    expect(p.get(58)!.command).toMatch(/^su nobody -s \/bin\/sh -c LC_ALL=C; export LC_ALL if \[ -r \/proc\/self\/stat \]/);
    expect(rankProcesses(r.processes, 'CPU', 2).map((x) => x.pid)).toEqual([2, 6]);
    expect(rankProcesses(r.processes, 'MEMORY', 3).map((x) => x.pid)).toEqual([58, 3, 84]);
    // Unreadable I/O ranks after every readable value, even a zero.
    const io = rankProcesses(r.processes, 'IO', 7);
    expect(io[0]!.pid).toBe(6);
    expect(io.slice(1).every((x) => x.ioReadBytesPerSecond === null && x.ioWriteBytesPerSecond === null)).toBe(true);
  });

  it('reads the same scene taken as root: every process\'s I/O', () => {
    const r = parseTopProcesses(captured('top-processes-root.txt'));
    expect(r.cpuBasis).toBe('INTERVAL');
    expect(r.skipped).toEqual([]);
    const busy = r.processes.find((x) => x.command === 'sh -c while :; do :; done')!;
    expect(busy).toMatchObject({ pid: 2, user: 'root', ioReadBytesPerSecond: 0, ioWriteBytesPerSecond: 0 });
    expect(rankProcesses(r.processes, 'CPU', 1)).toEqual([busy]);
    expect(rankProcesses(r.processes, 'IO', 1)[0]).toMatchObject({ pid: 6, user: 'nobody' });
    // Only the dd that started between the samples and exited before the second grep has none.
    expect(r.processes.filter((x) => x.ioWriteBytesPerSecond === null).map((x) => x.pid)).toEqual([47]);
  });

  it('a process named "\\n@@ip:…" cannot forge a section or hide the processes after it', () => {
    const text = captured('top-processes-nobody.txt');
    // pid 1's comm becomes a newline and a marker-like 14 characters (15 bytes, a comm's most).
    const forged = text.replaceAll('\n1 (sh) S 0 ', '\n1 (\n@@ip:top-proc) S 0 ');
    expect(forged).not.toBe(text);
    const r = parseTopProcesses(forged);
    expect(r.processes.map((p) => p.pid).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 6, 58, 84]);
    expect(byPid(r.processes).get(2)!.cpuPercent).toBe(47.4);
  });

  it('without /proc, reads ps and says its %CPU is the lifetime average', () => {
    const r = parseTopProcesses(`@@ip:top-processes-lifetime\n${caseInput('ps', 'pid-namespace-states')}`);
    expect(r.cpuBasis).toBe('LIFETIME');
    expect(r.intervalSeconds).toBeNull();
    expect(rankProcesses(r.processes, 'CPU', 1)[0]).toMatchObject({ pid: 9, cpuPercent: 20, memoryBytes: 2888 * 1024, ioReadBytesPerSecond: null });
  });

  it('rejects output that is not the command\'s', () => {
    expect(() => parseTopProcesses('sh: 1: cat: not found\n')).toThrow(ParseError);
    const oneSample = captured('top-processes-nobody.txt').split('@@ip:top-processes-uptime\n654.47')[0]!;
    expect(() => parseTopProcesses(oneSample)).toThrow(/two samples/);
  });
});

describe('rankProcesses', () => {
  const p = (pid: number, cpu: number | null, mem: number | null, read: number | null, write: number | null): TopProcess => ({
    pid, ppid: 1, user: null, command: `p${pid}`, state: 'S', cpuPercent: cpu, memoryBytes: mem, ioReadBytesPerSecond: read, ioWriteBytesPerSecond: write,
  });
  const all = [p(5, 1, 100, null, null), p(3, null, 300, 0, 0), p(4, 50, 200, 10, 5), p(2, 50, 200, 0, 20), p(1, 0, 50, 1, null)];

  it('orders by CPU, memory or read + write I/O, highest first; unknown values last; ties by the other measure, then pid', () => {
    expect(rankProcesses(all, 'CPU', 10).map((x) => x.pid)).toEqual([2, 4, 5, 1, 3]);
    expect(rankProcesses(all, 'MEMORY', 10).map((x) => x.pid)).toEqual([3, 2, 4, 5, 1]);
    expect(rankProcesses(all, 'IO', 10).map((x) => x.pid)).toEqual([2, 4, 1, 3, 5]);
    expect(rankProcesses(all, 'CPU', 2).map((x) => x.pid)).toEqual([2, 4]);
  });
});

describe('TOP_PROCESSES_COMMAND on this machine', () => {
  it('finds the test\'s own busy loop near the top by CPU, and leaves its own shell out', async () => {
    const busy = spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const out = await createLocalRunner().exec(TOP_PROCESSES_COMMAND, { timeoutMs: 10_000 });
      expect(out.code).toBe(0);
      const r = parseTopProcesses(out.stdout);
      expect(r.cpuBasis).toBe('INTERVAL');
      expect(r.intervalSeconds).toBeGreaterThanOrEqual(0.5);
      expect(r.intervalSeconds).toBeLessThan(5);
      const mine = r.processes.find((x) => x.pid === busy.pid)!;
      expect(mine).toMatchObject({ command: '/bin/sh -c while :; do :; done', state: 'R', user: expect.any(String) });
      // A whole CPU when the machine is idle; 2 CPUs are shared with other work here, so a share of one.
      expect(mine.cpuPercent).toBeGreaterThan(20);
      expect(rankProcesses(r.processes, 'CPU', 5).map((x) => x.pid)).toContain(busy.pid);
      expect(r.processes.some((x) => x.command.includes('@@ip:top-processes-clock'))).toBe(false);
      expect(r.processes.find((x) => x.pid === process.pid)?.memoryBytes).toBeGreaterThan(10 * 1024 * 1024);
    } finally {
      busy.kill('SIGKILL');
    }
  });
});
