import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PROC_PID_STAT_COMMAND,
  PS_COMMAND,
  parseProcPidStat,
  parseProcPidStats,
  parsePs,
} from '../../../src/collectors/processes.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { captured, caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';

describe('parsePs', () => {
  it('reads ps axu of processes in every state, commands with spaces and parentheses (our capture)', () => {
    const { processes, skipped } = parsePs(caseInput('ps', 'pid-namespace-states'));
    expect(skipped).toEqual([]);
    expect(processes).toHaveLength(12);
    expect(processes[0]).toEqual({
      pid: 1, user: 'root', cpuPercent: 0.4, memPercent: 0, rssBytes: 1748 * 1024, vszBytes: 2592 * 1024, state: 'S', stat: 'S',
      tty: '?', start: '21:13', cpuTimeSeconds: 0, command: 'sh /tmp/parsers-proc/scene.sh',
    });
    const by = new Map(processes.map((p) => [p.pid, p]));
    expect(by.get(3)!.command).toBe('/tmp/parsers-proc/a) b (c 300');
    expect(by.get(7)).toMatchObject({ state: 'T', command: 'sleep 300' });
    expect(by.get(8)!.command).toBe('worker --queue=mail  --concurrency 4 300');
    expect(by.get(9)).toMatchObject({ state: 'R', cpuPercent: 20, command: 'dd if=/dev/zero of=/dev/null bs=1M count=4000000' });
    expect(by.get(11)).toMatchObject({ state: 'Z', rssBytes: 0, vszBytes: 0, command: '[sleep] <defunct>' });
    expect(by.get(12)).toMatchObject({ user: 'nobody', state: 'S', stat: 'Ss', cpuPercent: 0.5 });
  });

  it('reads busybox ps: its -o columns, and its default PID USER COMMAND with nulls elsewhere', () => {
    const o = parsePs(caseInput('ps', 'busybox-o-columns')).processes;
    expect(o.map((p) => [p.pid, p.user, p.vszBytes, p.rssBytes, p.state, p.command])).toEqual([
      [1, 'root', 2592 * 1024, 1544 * 1024, 'S', 'sh /tmp/parsers-proc/scene-busybox.sh'],
      [2, 'root', 2920 * 1024, 1640 * 1024, 'S', 'sleep 300'],
      [3, 'root', 6312 * 1024, 3904 * 1024, 'S', 'su nobody -s /bin/sh -c exec sleep 300'],
      [4, 'root', 2920 * 1024, 1696 * 1024, 'S', '/tmp/parsers-proc/a) b (c 300'],
      [6, 'nobody', 2920 * 1024, 1664 * 1024, 'S', 'sleep 300'],
      [7, 'root', 3284 * 1024, 2324 * 1024, 'R', '/tmp/parsers-debs/root/bin/busybox ps -o pid,user,vsz,rss,stat,args'],
    ]);
    const d = parsePs(caseInput('ps', 'busybox-default')).processes;
    expect(d.map((p) => [p.pid, p.user, p.command])).toContainEqual([6, 'nobody', 'sleep 300']);
    expect(d[0]).toMatchObject({ cpuPercent: null, memPercent: null, rssBytes: null, state: null });
  });

  it('reads busybox-scaled sizes and -o time, skips lines that do not fit, rejects a missing header', () => {
    const r = parsePs('  PID USER       VSZ   RSS STAT TIME COMMAND\n  1 root     12m  1.5m S 1-02:03:04 init\n  ps: warning\n');
    expect(r.processes).toEqual([expect.objectContaining({ pid: 1, vszBytes: 12 * 1024 ** 2, rssBytes: Math.round(1.5 * 1024 ** 2), cpuTimeSeconds: 93784 })]);
    expect(r.skipped.map((s) => [s.line, s.text])).toEqual([[3, '  ps: warning']]);
    expect(() => parsePs('sh: 1: ps: not found\n')).toThrow(ParseError);
  });

  it('PS_COMMAND asks procps for axuww and busybox (which has no -p) for its -o columns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'infrapulse-ps-'));
    const fake = (body: string) => {
      writeFileSync(join(dir, 'ps'), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, 'ps'), 0o755);
      return execFileSync('/bin/sh', ['-c', PS_COMMAND], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' });
    };
    expect(fake('case "$*" in "-o pcpu= -p "*) echo 0.0 ;; *) echo "procps $*" ;; esac')).toBe('procps axuww\n');
    expect(fake('case "$*" in *-p*) exit 1 ;; *) echo "busybox $*" ;; esac')).toBe('busybox -o pid,user,vsz,rss,stat,args\n');
  });

  corpusIt('reads ps axu of a CentOS 7.7 VM', () => {
    const { processes, skipped } = parsePs(fixture('process/ps-aux-centos77-jc.txt'));
    expect(skipped).toEqual([]);
    expect(processes).toHaveLength(109);
    expect(processes[0]).toEqual({
      pid: 1, user: 'root', cpuPercent: 0, memPercent: 0.1, rssBytes: 6676 * 1024, vszBytes: 128068 * 1024, state: 'S', stat: 'Ss',
      tty: '?', start: 'Oct25', cpuTimeSeconds: 3, command: '/usr/lib/systemd/systemd --switched-root --system --deserialize 22',
    });
    expect(processes[1]).toMatchObject({ pid: 2, rssBytes: 0, vszBytes: 0, command: '[kthreadd]' });
    const by = new Map(processes.map((p) => [p.pid, p]));
    expect(by.get(1205)).toMatchObject({ cpuPercent: 0.1, memPercent: 0.7, rssBytes: 27244 * 1024, stat: 'Ssl', cpuTimeSeconds: 86 });
    expect(by.get(1205)!.command).toMatch(/^\/usr\/bin\/dockerd-current --add-runtime .* --storage-driver overlay2$/);
    expect(by.get(4318)).toMatchObject({ user: 'kbrazil', command: 'sshd: kbrazil@pts/0' });
    expect(by.get(4801)).toMatchObject({ user: 'kbrazil', state: 'R', stat: 'R+', tty: 'pts/0', command: 'ps axu' });
    expect(processes.filter((p) => p.user === 'kbrazil')).toHaveLength(9);
    expect(processes.filter((p) => p.stat === 'S<')).toHaveLength(53);
  });
});

describe('parseProcPidStat', () => {
  it('reads /proc/self/stat (our capture)', () => {
    expect(parseProcPidStat(caseInput('proc-pid-stat', 'self-cat'))).toEqual({
      pid: 14, comm: 'cat', state: 'R', ppid: 1, utimeTicks: 0, stimeTicks: 0, nice: 0, threads: 1,
      startTimeTicks: 364360, vsizeBytes: 3133440, rssPages: 389,
    });
  });

  it('ends comm at the last ")": spaces, parentheses and a newline inside it', () => {
    expect(parseProcPidStat(caseInput('proc-pid-stat', 'comm-parens-spaces'))).toMatchObject({ pid: 3, comm: 'a) b (c', state: 'S', ppid: 1, rssPages: 416 });
    expect(parseProcPidStat(caseInput('proc-pid-stat', 'comm-newline'))).toMatchObject({ pid: 4, comm: 'x\ny', state: 'S', rssPages: 384 });
    expect(parseProcPidStat(caseInput('proc-pid-stat', 'stopped-sleep'))).toMatchObject({ pid: 7, comm: 'sleep', state: 'T' });
  });

  it('rejects a cut record and several records given as one', () => {
    expect(() => parseProcPidStat('26231 (vim) R 5392 7446')).toThrow(new ParseError('expected "pid (comm) state ppid …" with at least 24 fields (proc(5))', 1));
    expect(() => parseProcPidStat(captured('proc-pid-stat-all.txt'))).toThrow(ParseError);
  });

  corpusIt('reads the running vim of prometheus/procfs', () => {
    expect(parseProcPidStat(fixture('process/proc-pid-stat-vim-running-procfs'))).toEqual({
      pid: 26231, comm: 'vim', state: 'R', ppid: 5392, utimeTicks: 1677, stimeTicks: 44, nice: 0, threads: 1,
      startTimeTicks: 82375, vsizeBytes: 56274944, rssPages: 1981,
    });
  });
});

describe('parseProcPidStats (the output of PROC_PID_STAT_COMMAND)', () => {
  it('reads every process, joining the record whose comm holds a newline', () => {
    const { processes, skipped } = parseProcPidStats(captured('proc-pid-stat-all.txt'));
    expect(skipped).toEqual([]);
    expect(processes.map((p) => [p.pid, p.comm, p.state])).toEqual([
      [1, 'sh', 'S'], [11, 'sleep', 'Z'], [12, 'sleep', 'S'], [2, 'sleep', 'S'], [3, 'a) b (c', 'S'], [4, 'x\ny', 'S'],
      [5, 'su', 'S'], [6, 'sleep', 'S'], [7, 'sleep', 'T'], [8, 'sleep', 'S'], [9, 'dd', 'R'],
    ]);
    expect(processes.find((p) => p.pid === 11)!.ppid).toBe(6);
    expect(processes.find((p) => p.pid === 9)!.stimeTicks).toBeGreaterThan(0);
    expect(PROC_PID_STAT_COMMAND).toBe('cat /proc/[0-9]*/stat 2>/dev/null');
  });

  it('skips a line that is no record and keeps the next one', () => {
    const r = parseProcPidStats(`5 (cut\n${caseInput('proc-pid-stat', 'self-cat')}garbage\n`);
    expect(r.processes.map((p) => p.pid)).toEqual([14]);
    expect(r.skipped.map((s) => [s.line, s.text])).toEqual([[1, '5 (cut'], [3, 'garbage']]);
  });
});
