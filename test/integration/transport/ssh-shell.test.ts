// The shell kept open per connection for poll scripts (src/transport/ssh-shell.ts): through a real
// OpenSSH server (one shell for many polls, killed and replaced on timeout or too much output,
// killed for real on the host), and against peers that are no shell (an in-process SSH server).
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchEnd, buildBatchScript, createExecBatch, SHELL_COMMAND, shellProbe, shellReady, splitBatchOutput } from '../../../src/transport/batch.ts';
import { createSshRunner, type SshRunner } from '../../../src/transport/ssh.ts';
import type { CommandRunner, ExecOptions, ExecResult } from '../../../src/transport/types.ts';
import { startFakeSshServer } from '../../helpers/fake-ssh-server.ts';
import { startSshd, type TestSshd } from '../../helpers/sshd.ts';
import { transportError } from '../../helpers/transport.ts';

let sshd: TestSshd;
let ssh: SshRunner;
beforeAll(async () => {
  sshd = await startSshd();
  ssh = createSshRunner({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey });
});
afterAll(async () => {
  await ssh?.close();
  await sshd?.stop();
});

/** One poll of one collector, as the poller sends it: a batch of one section. */
const poll = (runner: CommandRunner, command: string, options?: ExecOptions): Promise<ExecResult> => {
  const batch = createExecBatch(runner, 1);
  return batch.runner(0).exec(command, options);
};
/** The PID of the shell that ran the section ($$ is the main shell's in a subshell too). */
const shellPid = async (runner: CommandRunner): Promise<number> => Number((await poll(runner, 'echo $$')).stdout);
/** Whether `pid` stops running within 2 s (a signal is delivered when the process is next scheduled). */
const exits = async (pid: number): Promise<boolean> => {
  for (const started = Date.now(); Date.now() - started < 2_000; await new Promise((r) => setTimeout(r, 20))) if (!alive(pid)) return true;
  return false;
};
/** A running process (a zombie, killed and not yet reaped, is not). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('the kept shell through OpenSSH', () => {
  it('answers the probe, then runs one script after another in the same sh, each answered as one packet per stream', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey });
    });
    try {
      const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) => client.exec(SHELL_COMMAND, (err, c) => (err ? reject(err) : resolve(c))));
      let out: Buffer[] = [];
      let err: Buffer[] = [];
      channel.on('data', (d: Buffer) => out.push(d));
      channel.stderr.on('data', (d: Buffer) => err.push(d));
      const answer = async (text: string, end: string) => {
        out = [];
        err = [];
        channel.write(text);
        const done = () => Buffer.concat(out).toString().endsWith(end) && Buffer.concat(err).toString().endsWith(end);
        for (const started = Date.now(); !done(); await new Promise((r) => setTimeout(r, 10))) {
          if (Date.now() - started > 5_000) throw new Error(`no answer: ${Buffer.concat(out)} | ${Buffer.concat(err)}`);
        }
        return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), packets: { out: out.length, err: err.length } };
      };
      const probe = await answer(shellProbe('probe-nonce'), shellReady('probe-nonce'));
      expect(probe).toEqual({ stdout: shellReady('probe-nonce'), stderr: shellReady('probe-nonce'), packets: { out: 1, err: 1 } });
      const pids: string[] = [];
      for (const nonce of ['first-script', 'second-script']) {
        const r = await answer(buildBatchScript(nonce, ['echo $$; echo warn >&2; exit 3', 'for i in 1 2 3; do echo $i; sleep 0.02; done']), batchEnd(nonce));
        expect(r.packets).toEqual({ out: 1, err: 1 });
        const [first, second] = splitBatchOutput(nonce, 2, { ...r, code: 0 });
        expect(first).toMatchObject({ stderr: 'warn\n', code: 3 });
        expect(second).toEqual({ stdout: '1\n2\n3\n', stderr: '', code: 0 });
        pids.push(first!.stdout);
      }
      expect(pids[0]).toMatch(/^\d+\n$/);
      expect(pids[1]).toBe(pids[0]);
    } finally {
      client.end();
    }
  });

  it('the runner keeps one sh for every poll on the connection; execs get a shell each', async () => {
    const pids = [];
    for (let i = 0; i < 5; i++) pids.push(await shellPid(ssh));
    expect(new Set(pids).size).toBe(1);
    expect((await poll(ssh, 'cat /proc/$$/comm')).stdout).toMatch(/^(sh|dash|bash)\n$/);
    // The same polls as execs (a runner without runScript): a new shell each time.
    const execOnly: CommandRunner = { exec: (c, o) => ssh.exec(c, o), close: async () => {} };
    const execPids = [await shellPid(execOnly), await shellPid(execOnly)];
    expect(execPids[0]).not.toBe(execPids[1]);
  });

  it('a poll arriving while the shell runs another goes out as an exec; the shell stays', async () => {
    const kept = await shellPid(ssh);
    const [slow, fast] = await Promise.all([poll(ssh, 'sleep 0.3; echo $$'), poll(ssh, 'echo $$')]);
    expect(Number(slow.stdout)).toBe(kept);
    expect(Number(fast.stdout)).not.toBe(kept);
    expect(await shellPid(ssh)).toBe(kept);
  });

  it('a script past its timeout fails with TIMEOUT, its shell and command are killed, the next poll gets a new shell', async () => {
    const before = await shellPid(ssh);
    const marker = join(tmpdir(), `infrapulse-kept-shell-${process.pid}`);
    await rm(marker, { force: true });
    const started = Date.now();
    const error = await transportError(poll(ssh, `sleep 1.5; touch ${marker}`, { timeoutMs: 300 }));
    expect(error.kind).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1_400);
    const after = await shellPid(ssh);
    expect(after).not.toBe(before);
    expect(await exits(before)).toBe(true);
    await new Promise((r) => setTimeout(r, 1_700));
    expect(existsSync(marker)).toBe(false);
    expect(await shellPid(ssh)).toBe(after);
  });

  it('a script printing more than its limit fails with OUTPUT_LIMIT; the next poll works in a new shell', async () => {
    const before = await shellPid(ssh);
    const error = await transportError(poll(ssh, 'head -c 200000 /dev/zero | tr "\\0" x', { maxOutputBytes: 1_000 }));
    expect(error.kind).toBe('OUTPUT_LIMIT');
    const after = await shellPid(ssh);
    expect(after).not.toBe(before);
    expect((await poll(ssh, 'echo fine')).stdout).toBe('fine\n');
  });

  it('the shell killed on the host while idle: the next poll still answers, and a new shell takes over', async () => {
    const killed = await shellPid(ssh);
    process.kill(killed, 'SIGKILL');
    expect(await poll(ssh, 'echo still')).toEqual({ stdout: 'still\n', stderr: '', code: 0 });
    const next = await shellPid(ssh);
    expect(next).not.toBe(killed);
    expect(await shellPid(ssh)).toBe(next);
  });

  it('sshd and its sessions killed mid-script: CLOSED; after the restart the next poll reconnects with a new shell', async () => {
    const before = await shellPid(ssh);
    const running = transportError(poll(ssh, 'sleep 3; echo late', { timeoutMs: 10_000 }));
    await new Promise((r) => setTimeout(r, 200));
    await sshd.kill();
    expect((await running).kind).toBe('CLOSED');
    expect(await exits(before)).toBe(true);
    await sshd.restart();
    await ssh.resetBackoff();
    const after = await shellPid(ssh);
    expect(after).not.toBe(before);
    expect(await shellPid(ssh)).toBe(after);
  });
});

describe('keepalive on a connection the kept shell keeps busy', () => {
  it('no pings while scripts complete more often than the interval; an idle connection is pinged again', async () => {
    // DEBUG1 logs each global request sshd receives: `server_input_global_request: rtype keepalive@openssh.com`.
    const server = await startSshd({ logLevel: 'DEBUG1' });
    const runner = createSshRunner({ host: server.host, port: server.port, username: server.username, privateKey: server.privateKey, keepaliveIntervalMs: 300 });
    const pings = (): number => server.log().split('rtype keepalive@openssh.com').length - 1;
    try {
      expect((await poll(runner, 'echo first')).stdout).toBe('first\n');
      const until = Date.now() + 1_500;
      while (Date.now() < until) {
        expect((await poll(runner, 'true')).code).toBe(0);
        await new Promise((r) => setTimeout(r, 100));
      }
      // Five intervals of polls: ssh2's own timer pinged about five times here, answered scripts or not.
      expect(pings()).toBe(0);
      await expect.poll(pings, { timeout: 3_000 }).toBeGreaterThanOrEqual(2);
      expect((await poll(runner, 'echo still')).stdout).toBe('still\n');
    } finally {
      await runner.close();
      await server.stop();
    }
  });
});

describe('a peer that is no shell', () => {
  it('never answers the probe: its polls go out as execs, and the shell is not asked for again on that connection', async () => {
    const commands: string[] = [];
    const peer = await startFakeSshServer({
      onExec: ({ command, channel }) => {
        commands.push(command);
        // A forced command: whatever was asked, the same answer.
        channel.write('forced answer\n');
        channel.exit(0);
        channel.end();
      },
    });
    const runner = createSshRunner({ host: peer.host, port: peer.port, username: 'u', password: 'p' });
    try {
      expect(await poll(runner, 'echo one')).toEqual({ stdout: 'forced answer\n', stderr: '', code: 0 });
      expect(await poll(runner, 'echo two')).toEqual({ stdout: 'forced answer\n', stderr: '', code: 0 });
      expect(commands.map((c) => (c.includes('infrapulse batch') ? 'batch' : c))).toEqual([SHELL_COMMAND, 'batch', 'batch']);
    } finally {
      await runner.close();
      await peer.stop();
    }
  });

  it('prints without end instead of answering: the probe gives up after 64 KB and the poll goes out as an exec', async () => {
    const commands: string[] = [];
    const peer = await startFakeSshServer({
      onExec: ({ command, channel }) => {
        commands.push(command);
        if (command === SHELL_COMMAND) {
          const spew = setInterval(() => channel.write('y\n'.repeat(8_192)), 5);
          channel.on('close', () => clearInterval(spew));
          return;
        }
        channel.write('as an exec\n');
        channel.exit(0);
        channel.end();
      },
    });
    const runner = createSshRunner({ host: peer.host, port: peer.port, username: 'u', password: 'p' });
    try {
      expect(await poll(runner, 'echo one', { timeoutMs: 5_000 })).toEqual({ stdout: 'as an exec\n', stderr: '', code: 0 });
      expect(commands.filter((c) => c === SHELL_COMMAND)).toHaveLength(1);
    } finally {
      await runner.close();
      await peer.stop();
    }
  });
});
