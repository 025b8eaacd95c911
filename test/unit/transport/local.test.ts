import { describe, expect, it } from 'vitest';
import { createLocalRunner } from '../../../src/transport/local.ts';
import { transportError } from '../../helpers/transport.ts';

describe('local runner', () => {
  const runner = createLocalRunner();

  it('runs a constant command through /bin/sh and returns stdout, stderr and the exit code', async () => {
    const res = await runner.exec('cat /proc/loadavg; echo oops >&2; exit 3');
    expect(res.stdout).toMatch(/^\d+\.\d+ \d+\.\d+ \d+\.\d+ \d+\/\d+ \d+\n$/);
    expect(res.stderr).toBe('oops\n');
    expect(res.code).toBe(3);
  });

  it('reports a null exit code when the command dies of a signal', async () => {
    const res = await runner.exec('kill -9 $$');
    expect(res.code).toBeNull();
  });

  it('kills the whole process group on timeout', async () => {
    const marker = `infrapulse-local-${process.pid}-${Date.now()}`;
    const started = Date.now();
    // The inner shell (and its sleep) are grandchildren: only a process-group kill reaches them.
    const err = await transportError(runner.exec(`sh -c 'sleep 30; : ${marker}'; true`, { timeoutMs: 200 }));
    expect(err.kind).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 100));
    // '[i]…' so pgrep does not find the shell running pgrep itself.
    const ps = await runner.exec(`pgrep -f '[i]${marker.slice(1)}' || true`);
    expect(ps.stdout.trim()).toBe('');
  });

  it('fails with OUTPUT_LIMIT instead of buffering unbounded output', async () => {
    const err = await transportError(runner.exec('head -c 5000000 /dev/zero', { maxOutputBytes: 1_000_000 }));
    expect(err.kind).toBe('OUTPUT_LIMIT');
    const ok = await runner.exec('head -c 1000000 /dev/zero', { maxOutputBytes: 1_000_000 });
    expect(ok.stdout.length).toBe(1_000_000);
  });
});
