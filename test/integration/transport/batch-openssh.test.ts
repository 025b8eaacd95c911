// One exec for several collectors (src/transport/batch.ts), run by a real /bin/sh: through OpenSSH and locally.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBatchScript, createExecBatch, parseBatchScript, splitBatchOutput } from '../../../src/transport/batch.ts';
import { createLocalRunner } from '../../../src/transport/local.ts';
import { createSshRunner, type SshRunner } from '../../../src/transport/ssh.ts';
import type { CommandRunner, ExecOptions, ExecResult } from '../../../src/transport/types.ts';
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

/** The runner, counting the execs and scripts that reach it; with `keepShell`, scripts go to its kept shell when it has one. */
function counted(inner: CommandRunner, keepShell: boolean): CommandRunner & { commands: string[] } {
  const commands: string[] = [];
  const exec = (c: string, o?: ExecOptions) => (commands.push(c), inner.exec(c, o));
  const runScript = inner.runScript && keepShell ? (c: string, end: string, o?: ExecOptions) => (commands.push(c), inner.runScript!(c, end, o)) : undefined;
  return { commands, exec, ...(runScript ? { runScript } : {}), close: async () => {} };
}

// Text that looks like the batch's markers (a fake nonce, our collectors' own), and no newline at the end.
const MARKER_LIKE = `printf '@@ipb:00000000-0000-4000-8000-000000000000:1\\n@@ipb:0:1:0\\n@@ip:end\\nlast line without newline'`;

describe.each([
  ['OpenSSH, in the kept shell', () => counted(ssh, true)],
  ['OpenSSH, as an exec', () => counted(ssh, false)],
  ['local /bin/sh', () => counted(createLocalRunner(), false)],
] as const)('a batched exec through %s', (_name, base) => {
  it('runs every section in one exec and gives each its own stdout, stderr and exit code', async () => {
    const runner = base();
    const batch = createExecBatch(runner, 5);
    const results = await Promise.all([
      batch.runner(0).exec(MARKER_LIKE, { timeoutMs: 10_000 }),
      batch.runner(1).exec('no-such-command-infrapulse; echo after', { timeoutMs: 10_000 }),
      batch.runner(2).exec('echo only-stderr >&2; exit 3', { timeoutMs: 10_000 }),
      // `exit` and variables stay inside the section: the next one still runs, with its own environment.
      batch.runner(3).exec('X=leaked; export X; cd /; exit 0', { timeoutMs: 10_000 }),
      batch.runner(4).exec('echo "x=${X:-unset} pwd=$(pwd)"; printf "err\\n" >&2', { timeoutMs: 10_000 }),
    ]);
    expect(runner.commands).toHaveLength(1);
    expect(results[0]).toEqual({ stdout: '@@ipb:00000000-0000-4000-8000-000000000000:1\n@@ipb:0:1:0\n@@ip:end\nlast line without newline', stderr: '', code: 0 });
    expect(results[1]!.code).toBe(0);
    expect(results[1]!.stdout).toBe('after\n');
    expect(results[1]!.stderr).toMatch(/no-such-command-infrapulse.*not found\n$/);
    expect(results[2]).toEqual({ stdout: '', stderr: 'only-stderr\n', code: 3 });
    expect(results[3]).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(results[4]!.stdout).toMatch(/^x=unset pwd=\/.+\n$/);
    expect(results[4]!.stdout).not.toBe('x=unset pwd=/\n');
    expect(results[4]!.stderr).toBe('err\n');
    expect(results[4]!.code).toBe(0);
  });

  it('a section failing with exit 127 keeps its own failure; the others are untouched', async () => {
    const runner = base();
    const batch = createExecBatch(runner, 2);
    const [missing, ok] = await Promise.all([
      batch.runner(0).exec('no-such-tool-infrapulse --json', { timeoutMs: 10_000 }),
      batch.runner(1).exec('echo fine', { timeoutMs: 10_000 }),
    ]);
    expect(runner.commands).toHaveLength(1);
    expect(missing.code).toBe(127);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/no-such-tool-infrapulse.*not found/);
    expect(ok).toEqual({ stdout: 'fine\n', stderr: '', code: 0 });
  });

  it('waits for participants that have not asked yet, not for one that finished without a command; later execs go straight through', async () => {
    const runner = base();
    const batch = createExecBatch(runner, 3);
    const first = batch.runner(0).exec('echo a');
    await new Promise((r) => setTimeout(r, 20));
    expect(runner.commands).toHaveLength(0);
    batch.done(1);
    expect(runner.commands).toHaveLength(0);
    const second = batch.runner(2).exec('echo b');
    expect((await first).stdout).toBe('a\n');
    expect((await second).stdout).toBe('b\n');
    expect(runner.commands).toHaveLength(1);
    const again = await batch.runner(0).exec('echo again');
    expect(again).toEqual({ stdout: 'again\n', stderr: '', code: 0 });
    expect(runner.commands).toEqual([expect.stringContaining('infrapulse batch'), 'echo again']);
  });

  it('one participant goes out as a batch of one (so its output is gathered too), with its own exit code', async () => {
    const runner = base();
    const batch = createExecBatch(runner, 1);
    expect(await batch.runner(0).exec('echo solo; echo warn >&2; exit 4')).toEqual({ stdout: 'solo\n', stderr: 'warn\n', code: 4 });
    expect(runner.commands).toEqual([expect.stringContaining('infrapulse batch')]);
    expect(parseBatchScript(runner.commands[0]!)?.commands).toEqual(['echo solo; echo warn >&2; exit 4']);
  });

  it('when the others finished without a command, the last one still goes out as a batch', async () => {
    const runner = base();
    const batch = createExecBatch(runner, 2);
    batch.done(0);
    expect(await batch.runner(1).exec('echo left')).toEqual({ stdout: 'left\n', stderr: '', code: 0 });
    expect(runner.commands).toEqual([expect.stringContaining('infrapulse batch')]);
  });

  it('a timeout of the batch fails every section with TIMEOUT; the timeout is the longest asked for', async () => {
    const runner = base();
    const batch = createExecBatch(runner, 2);
    const started = Date.now();
    const errors = await Promise.all([
      transportError(batch.runner(0).exec('sleep 5', { timeoutMs: 200 })),
      transportError(batch.runner(1).exec('true', { timeoutMs: 600 })),
    ]);
    expect(errors.map((e) => e.kind)).toEqual(['TIMEOUT', 'TIMEOUT']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a section printing more than its own output limit fails alone with OUTPUT_LIMIT', async () => {
    const batch = createExecBatch(base(), 2);
    const [big, small] = await Promise.allSettled([
      batch.runner(0).exec('head -c 5000 /dev/zero | tr "\\0" x', { maxOutputBytes: 1000 }),
      batch.runner(1).exec('echo small', { maxOutputBytes: 100_000 }),
    ]);
    expect(big.status).toBe('rejected');
    expect((big as PromiseRejectedResult).reason).toMatchObject({ name: 'TransportError', kind: 'OUTPUT_LIMIT' });
    expect((small as PromiseFulfilledResult<ExecResult>).value.stdout).toBe('small\n');
  });
});

// Sections that print in many small writes, apart in time: OpenSSH sends each as it reads it.
const TRICKLE = ['for i in 1 2 3 4 5 6; do echo out $i; echo err $i >&2; sleep 0.05; done', 'echo last; exit 5'];
const TRICKLED = [
  { stdout: 'out 1\nout 2\nout 3\nout 4\nout 5\nout 6\n', stderr: 'err 1\nerr 2\nerr 3\nerr 4\nerr 5\nerr 6\n', code: 0 },
  { stdout: 'last\n', stderr: '', code: 5 },
];

describe('a batch\'s output on the wire', () => {
  it('reaches the client through OpenSSH as one data packet per stream, however the sections print', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey });
    });
    try {
      const nonce = crypto.randomUUID();
      const { stdout, stderr, packets } = await new Promise<{ stdout: string; stderr: string; packets: { out: number; err: number } }>((resolve, reject) => {
        client.exec(buildBatchScript(nonce, TRICKLE), (err, stream) => {
          if (err) return reject(err);
          const out: Buffer[] = [];
          const errs: Buffer[] = [];
          stream.on('data', (d: Buffer) => out.push(d));
          stream.stderr.on('data', (d: Buffer) => errs.push(d));
          stream.on('close', () => resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errs).toString(), packets: { out: out.length, err: errs.length } }));
        });
      });
      expect(packets).toEqual({ out: 1, err: 1 });
      expect(splitBatchOutput(nonce, 2, { stdout, stderr, code: 0 })).toEqual(TRICKLED);
    } finally {
      client.end();
    }
  });

  it('a host without dd runs the sections unbuffered, with the same results', () => {
    const nonce = crypto.randomUUID();
    // An empty PATH: sh's builtins (echo, printf, command, exit) only; `sleep` is not found, which the section does not depend on.
    const r = spawnSync('/bin/sh', ['-c', buildBatchScript(nonce, TRICKLE)], { env: { PATH: mkdtempSync(join(tmpdir(), 'infrapulse-no-dd-')) }, encoding: 'utf8' });
    const [trickle, last] = splitBatchOutput(nonce, 2, { stdout: r.stdout, stderr: r.stderr, code: r.status });
    expect(trickle!.stdout).toBe(TRICKLED[0]!.stdout);
    expect(trickle!.stderr).toMatch(/^err 1\n.*sleep.*not found\n/s);
    expect(last).toEqual(TRICKLED[1]);
  });
});
