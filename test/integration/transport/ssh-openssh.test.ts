// Against a real OpenSSH server: what the poller will actually meet on a Linux host.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSshRunner, type SshRunner, type SshRunnerOptions } from '../../../src/transport/ssh.ts';
import { TransportError } from '../../../src/transport/types.ts';
import { startSshd, type TestSshd } from '../../helpers/sshd.ts';
import { transportError } from '../../helpers/transport.ts';
import { generateEd25519Key } from '../../../src/transport/keys.ts';

const run = promisify(execFile);

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const runners: SshRunner[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.close()));
});

function runner(extra: Partial<SshRunnerOptions> = {}): SshRunner {
  const r = createSshRunner({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: sshd.privateKey,
    ...extra,
  });
  runners.push(r);
  return r;
}

describe('ssh runner against OpenSSH', () => {
  it('runs `cat /proc/loadavg` with key auth as the test user', async () => {
    const r = runner();
    const res = await r.exec('cat /proc/loadavg');
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^\d+\.\d+ \d+\.\d+ \d+\.\d+ \d+\/\d+ \d+\n$/);
    expect((await r.exec('id -un')).stdout).toBe(`${sshd.username}\n`);
    expect((await r.exec('exit 7')).code).toBe(7);
    expect(r.state).toBe('ready');
  });

  it('TOFU: reports the fingerprint exactly as ssh-keygen -lf prints it', async () => {
    const seen: string[] = [];
    const r = runner({ onHostKey: (fp) => seen.push(fp) });
    await r.exec('true');
    const { stdout } = await run('ssh-keygen', ['-lf', sshd.hostKeyPubPath]);
    const printed = stdout.split(' ')[1];
    expect(printed).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(seen).toEqual([printed]);
    expect(r.hostKeyFingerprint).toBe(printed);
  });

  it('accepts the right pinned fingerprint without calling onHostKey', async () => {
    const seen: string[] = [];
    const r = runner({ expectedFingerprint: sshd.hostKeyFingerprint, onHostKey: (fp) => seen.push(fp) });
    expect((await r.exec('echo pinned')).stdout).toBe('pinned\n');
    expect(seen).toEqual([]);
  });

  it('refuses a wrong pinned fingerprint with HOST_KEY', async () => {
    const wrong = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const r = runner({ expectedFingerprint: wrong });
    const err = await transportError(r.exec('true'));
    expect(err.kind).toBe('HOST_KEY');
    expect(err.details).toEqual({ fingerprint: sshd.hostKeyFingerprint, expected: wrong });
    expect(err.message).toContain(`${sshd.host}:${sshd.port}`);
  });

  it('wrong key → AUTH', async () => {
    const other = generateEd25519Key();
    const r = runner({ privateKey: other });
    const err = await transportError(r.exec('true'));
    expect(err.kind).toBe('AUTH');
    expect(err.message).toContain(`${sshd.host}:${sshd.port}`);
    expect(err.message).toContain(sshd.username);
  });

  it('password auth works (as root: an unprivileged sshd cannot check passwords), and a wrong password is AUTH without leaking it', async () => {
    if (sshd.password !== null) {
      const ok = runner({ privateKey: undefined, password: sshd.password });
      expect((await ok.exec('echo pw')).stdout).toBe('pw\n');
    }
    const bad = runner({ privateKey: undefined, password: 'definitely-wrong-pw' });
    const err = await transportError(bad.exec('true'));
    expect(err.kind).toBe('AUTH');
    expect(err.message).not.toContain('definitely-wrong-pw');
  });

  it('20 parallel execs share one connection, never exceed maxChannels, and all succeed', async () => {
    const handshakes: string[] = [];
    const r = runner({ maxChannels: 4, onHostKey: (fp) => handshakes.push(fp) });
    // Each exec records itself in a per-run directory while it runs, so the peak concurrency is observable remotely.
    const dir = `/tmp/infrapulse-conc-${process.pid}-${Date.now()}`;
    await r.exec(`mkdir -p ${dir}`);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        r.exec(`touch ${dir}/${i}; ls ${dir} | wc -l; sleep 0.1; rm ${dir}/${i}; echo done ${i}`),
      ),
    );
    await r.exec(`rm -rf ${dir}`);
    expect(results.every((x) => x.code === 0)).toBe(true);
    results.forEach((x, i) => expect(x.stdout).toMatch(new RegExp(`done ${i}\\n$`)));
    const peak = Math.max(...results.map((x) => Number(x.stdout.split('\n')[0])));
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBeGreaterThanOrEqual(2);
    expect(handshakes).toHaveLength(1);
  });

  it('more than OpenSSH MaxSessions (10) in parallel still succeed when maxChannels allows 10', async () => {
    const r = runner({ maxChannels: 10 });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => r.exec(`echo ${i}`)));
    expect(results.map((x) => x.stdout)).toEqual(Array.from({ length: 30 }, (_, i) => `${i}\n`));
  });

  it('`sleep 5` with timeoutMs 300 → TIMEOUT, the remote command is killed, the next exec works on the same connection', async () => {
    const handshakes: string[] = [];
    const r = runner({ maxChannels: 1, onHostKey: (fp) => handshakes.push(fp) });
    await r.exec('true');
    const started = Date.now();
    const err = await transportError(r.exec('sleep 5', { timeoutMs: 300 }));
    expect(err.kind).toBe('TIMEOUT');
    expect(err.message).toContain('300 ms');
    expect(Date.now() - started).toBeLessThan(1_500);
    // maxChannels 1: this only runs once OpenSSH has confirmed the timed-out channel closed.
    // Killed processes may linger briefly as zombies (Z) until reaped; only a live sleep would be a leak.
    const next = await r.exec(`echo next; ps -u "$(id -u)" -o stat=,comm= | grep -v '^Z' | grep -w sleep || true`);
    expect(next.stdout).toBe('next\n');
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(handshakes).toHaveLength(1);
  });

  it('OUTPUT_LIMIT on a flood, connection kept', async () => {
    const r = runner();
    const err = await transportError(r.exec('head -c 10000000 /dev/zero', { maxOutputBytes: 1_000_000 }));
    expect(err.kind).toBe('OUTPUT_LIMIT');
    const full = await r.exec('head -c 10485760 /dev/zero | tr "\\0" x', { maxOutputBytes: 16 * 1024 * 1024 });
    expect(full.stdout.length).toBe(10 * 1024 * 1024);
  });

  it('notices sshd dying and reconnects on a later exec once it is back', async () => {
    const states: string[] = [];
    const r = runner({
      backoff: { baseMs: 50, maxMs: 200 },
      keepaliveIntervalMs: 0,
      onStateChange: (s) => states.push(s),
    });
    expect((await r.exec('echo before')).stdout).toBe('before\n');
    await sshd.kill();
    // The dead connection is noticed from the socket closing, without any exec.
    await expect.poll(() => r.state, { timeout: 2_000 }).toBe('idle');
    const down = await transportError(r.exec('true'));
    expect(down.kind).toBe('CONNECT');
    await sshd.restart();
    let after: string | undefined;
    for (let i = 0; i < 40 && after === undefined; i++) {
      try {
        after = (await r.exec('echo after')).stdout;
      } catch (err) {
        if (!(err instanceof TransportError) || err.kind !== 'CONNECT') throw err;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    expect(after).toBe('after\n');
    expect(states).toEqual(expect.arrayContaining(['connecting', 'ready', 'idle', 'backoff']));
    expect(r.state).toBe('ready');
  });

  it('measures handshake and per-exec latency with and without TCP_NODELAY (log only)', async () => {
    const measure = async (noDelay: boolean) => {
      let connectingAt = 0;
      let handshakeMs = 0;
      const r = runner({
        noDelay,
        onStateChange: (s) => {
          if (s === 'connecting') connectingAt = performance.now();
          if (s === 'ready') handshakeMs = performance.now() - connectingAt;
        },
      });
      const t0 = performance.now();
      await r.exec('true');
      const firstExec = performance.now() - t0;
      const n = 50;
      const t1 = performance.now();
      for (let i = 0; i < n; i++) await r.exec('true');
      const perExec = (performance.now() - t1) / n;
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < n; i++) await r.exec('true');
      const cpu = process.cpuUsage(cpu0);
      await r.close();
      return {
        noDelay,
        handshakeMs: +handshakeMs.toFixed(1),
        firstExecMs: +firstExec.toFixed(1),
        perExecMs: +perExec.toFixed(2), clientCpuPerExecMs: +((cpu.user + cpu.system) / 1000 / n).toFixed(3) };
    };
    const withNoDelay = await measure(true);
    const withoutNoDelay = await measure(false);
    console.log('[transport measurements]', JSON.stringify({ withNoDelay, withoutNoDelay }));
    expect(withNoDelay.perExecMs).toBeGreaterThan(0);
  });
});
