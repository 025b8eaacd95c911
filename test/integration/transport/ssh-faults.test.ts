// Faults injected by an in-process ssh2.Server: every one must end in a typed TransportError, never a crash.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createSshRunner, type SshRunner, type SshRunnerOptions } from '../../../src/transport/ssh.ts';
import {
  generateHostKey,
  startFakeSshServer,
  startSilentServer,
  type FakeSshServer,
} from '../../helpers/fake-ssh-server.ts';
import { freePort } from '../../helpers/sshd.ts';
import { transportError } from '../../helpers/transport.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fake(options: Parameters<typeof startFakeSshServer>[0] = {}): Promise<FakeSshServer> {
  const server = await startFakeSshServer(options);
  cleanups.push(() => server.stop());
  return server;
}

function runner(target: { host: string; port: number }, extra: Partial<SshRunnerOptions> = {}): SshRunner {
  const r = createSshRunner({ host: target.host, port: target.port, username: 'tester', password: 'secret-pw', ...extra });
  cleanups.push(() => r.close());
  return r;
}

describe('ssh runner against faulty peers', () => {
  it('closed port → CONNECT, fast, naming host:port', async () => {
    const port = await freePort();
    const r = runner({ host: '127.0.0.1', port });
    const started = Date.now();
    const err = await transportError(r.exec('true'));
    expect(err.kind).toBe('CONNECT');
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(r.state).toBe('backoff');
  });

  it('unresolvable host name → CONNECT', async () => {
    const r = runner({ host: 'no-such-host.invalid', port: 22 });
    const err = await transportError(r.exec('true'));
    expect(err.kind).toBe('CONNECT');
    expect(err.message).toContain('no-such-host.invalid:22');
  });

  it('banner never sent → CONNECT after the handshake timeout', async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.stop());
    const r = runner(silent, { readyTimeoutMs: 300 });
    const started = Date.now();
    const err = await transportError(r.exec('true'));
    const elapsed = Date.now() - started;
    expect(err.kind).toBe('CONNECT');
    expect(err.message).toMatch(/handshake did not complete within 300 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('authentication rejected → AUTH, without the password in the message', async () => {
    const server = await fake({ auth: 'reject' });
    const r = runner(server);
    const err = await transportError(r.exec('true'));
    expect(err.kind).toBe('AUTH');
    expect(err.message).toContain(`127.0.0.1:${server.port}`);
    expect(err.message).not.toContain('secret-pw');
    // During backoff the kind is preserved, so the device status stays AUTH_FAILED rather than flapping to OFFLINE.
    const again = await transportError(r.exec('true'));
    expect(again.kind).toBe('AUTH');
  });

  it('unparsable private key → AUTH, without key material in the message', async () => {
    const server = await fake();
    const r = runner(server, { password: undefined, privateKey: 'not-a-key-but-secret-looking' });
    const err = await transportError(r.exec('true'));
    expect(err.kind).toBe('AUTH');
    expect(err.message).not.toContain('secret-looking');
  });

  it('host key changed under a pinned runner → HOST_KEY with both fingerprints', async () => {
    const first = generateHostKey();
    const second = generateHostKey();
    const a = await startFakeSshServer({ hostKey: first.privateKey });
    const seen: string[] = [];
    const r = runner(a, { expectedFingerprint: first.fingerprint, onHostKey: (fp) => seen.push(fp) });
    expect((await r.exec('echo hi')).stdout).toBe('echo hi\n');
    expect(r.hostKeyFingerprint).toBe(first.fingerprint);
    await a.stop();

    const b = await fake({ hostKey: second.privateKey, port: a.port });
    // The first exec may still meet the dying connection; what matters is that no exec succeeds on the new key.
    let err = await transportError(r.exec('echo hi'));
    if (err.kind === 'CLOSED') err = await transportError(r.exec('echo hi'));
    expect(err.kind).toBe('HOST_KEY');
    expect(err.details).toEqual({ fingerprint: second.fingerprint, expected: first.fingerprint });
    expect(err.message).toContain(`127.0.0.1:${b.port}`);
    expect(r.hostKeyFingerprint).toBe(second.fingerprint);
    expect(seen).toEqual([]);
  });

  it('a key trusted on first use is pinned by the runner: a reconnect to another key is refused', async () => {
    const first = generateHostKey();
    const second = generateHostKey();
    const a = await startFakeSshServer({ hostKey: first.privateKey });
    const seen: string[] = [];
    const r = runner(a, { onHostKey: (fp) => seen.push(fp) });
    expect((await r.exec('echo hi')).stdout).toBe('echo hi\n');
    expect(seen).toEqual([first.fingerprint]);
    await a.stop();

    await fake({ hostKey: second.privateKey, port: a.port });
    let err = await transportError(r.exec('echo hi'));
    if (err.kind === 'CLOSED') err = await transportError(r.exec('echo hi'));
    expect(err.kind).toBe('HOST_KEY');
    expect(err.details).toEqual({ fingerprint: second.fingerprint, expected: first.fingerprint });
    expect(seen).toEqual([first.fingerprint]);
  });

  it('connection reset mid-exec → CLOSED, and the next exec reconnects (the connection had worked)', async () => {
    let calls = 0;
    const server = await fake({
      onExec: (ctx) => {
        calls++;
        if (calls === 2) {
          ctx.channel.write('partial');
          setTimeout(() => ctx.destroySocket(), 50);
          return;
        }
        ctx.channel.write('fine\n');
        ctx.channel.exit(0);
        ctx.channel.end();
      },
    });
    const r = runner(server);
    expect((await r.exec('warm-up')).code).toBe(0);
    const err = await transportError(r.exec('first'));
    expect(err.kind).toBe('CLOSED');
    expect(err.message).toContain(`127.0.0.1:${server.port}`);
    expect((await r.exec('second')).stdout).toBe('fine\n');
    expect(server.connectionCount).toBe(2);
  });

  it('a connection reset before any exec completed on it counts as a failed attempt: backoff, not a handshake per exec', async () => {
    const server = await fake({ onExec: (ctx) => ctx.destroySocket() });
    const r = runner(server, { backoff: { baseMs: 5_000, jitter: 0 } });
    expect((await transportError(r.exec('first'))).kind).toBe('CLOSED');
    expect(r.state).toBe('backoff');
    const refused = await transportError(r.exec('second'));
    expect(refused.kind).toBe('CLOSED');
    expect(refused.message).toMatch(/next connection attempt in 5 s/);
    expect(server.connectionCount).toBe(1);
  });

  it('wedged peer → keepalive declares the connection dead, running execs fail with CLOSED', async () => {
    const server = await fake({
      onExec: (ctx) => {
        if (ctx.command === 'freeze') return ctx.freeze();
        ctx.channel.exit(0);
        ctx.channel.end();
      },
    });
    const r = runner(server, { keepaliveIntervalMs: 100, keepaliveCountMax: 2 });
    await r.exec('warm-up');
    const started = Date.now();
    const err = await transportError(r.exec('freeze', { timeoutMs: 10_000 }));
    expect(err.kind).toBe('CLOSED');
    expect(err.message).toContain('keepalive');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(r.state).toBe('idle');
  });

  it('command hangs past its timeout → TIMEOUT; the connection stays usable', async () => {
    const server = await fake({
      onExec: (ctx) => {
        if (ctx.command === 'hang') return;
        ctx.channel.write('ok\n');
        ctx.channel.exit(0);
        ctx.channel.end();
      },
    });
    const r = runner(server, { maxChannels: 1 });
    const started = Date.now();
    const err = await transportError(r.exec('hang', { timeoutMs: 200 }));
    expect(err.kind).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1_500);
    expect((await r.exec('next')).stdout).toBe('ok\n');
    expect(server.connectionCount).toBe(1);
  });

  it('timed-out channel whose close is never confirmed → connection retired and replaced', async () => {
    const server = await fake({
      onExec: (ctx) => {
        if (ctx.command === 'freeze') return ctx.freeze();
        ctx.channel.write('ok\n');
        ctx.channel.exit(0);
        ctx.channel.end();
      },
    });
    const states: string[] = [];
    const r = runner(server, {
      keepaliveIntervalMs: 0,
      channelCloseGraceMs: 200,
      onStateChange: (st) => states.push(st),
    });
    const err = await transportError(r.exec('freeze', { timeoutMs: 100 }));
    expect(err.kind).toBe('TIMEOUT');
    await expect.poll(() => r.state, { timeout: 2_000 }).toBe('idle');
    expect((await r.exec('next')).stdout).toBe('ok\n');
    expect(server.connectionCount).toBe(2);
    expect(states).toEqual(['connecting', 'ready', 'idle', 'connecting', 'ready']);
  });

  it('random binary output → returned as a (lossy) string, no crash', async () => {
    const garbage = randomBytes(256 * 1024);
    const server = await fake({
      onExec: (ctx) => {
        ctx.channel.write(garbage);
        ctx.channel.stderr.write(randomBytes(1024));
        ctx.channel.exit(0);
        ctx.channel.end();
      },
    });
    const r = runner(server);
    const res = await r.exec('garbage');
    expect(typeof res.stdout).toBe('string');
    expect(res.stdout).toBe(garbage.toString('utf8'));
    expect(res.stderr.length).toBeGreaterThan(0);
    expect(res.code).toBe(0);
  });

  it('10 MB of output → returned fully under the limit, OUTPUT_LIMIT over it', async () => {
    const size = 10 * 1024 * 1024;
    const server = await fake({
      onExec: (ctx) => {
        ctx.channel.write(Buffer.alloc(size, 'x'));
        ctx.channel.exit(0);
        ctx.channel.end();
      },
    });
    const roomy = runner(server, { maxOutputBytes: 16 * 1024 * 1024 });
    const res = await roomy.exec('big');
    expect(res.stdout.length).toBe(size);

    const tight = runner(server, { maxOutputBytes: 1024 * 1024 });
    const err = await transportError(tight.exec('big'));
    expect(err.kind).toBe('OUTPUT_LIMIT');
    // The offending channel is abandoned, not the connection.
    const small = await transportError(tight.exec('big', { maxOutputBytes: 10 }));
    expect(small.kind).toBe('OUTPUT_LIMIT');
  });

  it('exit by signal → code null', async () => {
    const server = await fake({
      onExec: (ctx) => {
        ctx.channel.exit('KILL', false, '');
        ctx.channel.end();
      },
    });
    const r = runner(server);
    expect((await r.exec('die')).code).toBeNull();
  });

  it('concurrent execs while connecting share one handshake and respect maxChannels', async () => {
    let running = 0;
    let peak = 0;
    const server = await fake({
      onExec: (ctx) => {
        running++;
        peak = Math.max(peak, running);
        setTimeout(() => {
          running--;
          ctx.channel.write(`${ctx.command}\n`);
          ctx.channel.exit(0);
          ctx.channel.end();
        }, 20);
      },
    });
    const r = runner(server, { maxChannels: 3 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => r.exec(`echo ${i}`)));
    expect(results.map((x) => x.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `echo ${i}\n`));
    expect(server.connectionCount).toBe(1);
    expect(peak).toBe(3);
  });

  it('close() fails queued and running execs with CLOSED and is final', async () => {
    const server = await fake({ onExec: () => {} });
    const r = runner(server, { maxChannels: 1 });
    const running = transportError(r.exec('hang-1'));
    const queued = transportError(r.exec('hang-2'));
    await new Promise((res) => setTimeout(res, 100));
    await r.close();
    expect((await running).kind).toBe('CLOSED');
    expect((await queued).kind).toBe('CLOSED');
    expect((await transportError(r.exec('after'))).kind).toBe('CLOSED');
    expect(r.state).toBe('closed');
  });
});
