import { describe, expect, it } from 'vitest';
import { nextStatus, type CollectorOutcome, type DeviceStatus, type StatusInput } from '../../../src/poller/status.ts';

const ok = (collector: CollectorOutcome['collector'] = 'system', problems: string[] = []): CollectorOutcome => ({ collector, kind: 'ok', problems });
const down = (error: 'CONNECT' | 'CLOSED' | 'TIMEOUT' | 'AUTH' | 'HOST_KEY' | 'OUTPUT_LIMIT', collector: CollectorOutcome['collector'] = 'system'): CollectorOutcome => ({
  collector,
  kind: 'transport',
  error,
  message: `${error} happened`,
});
const broken = (reason: string, collector: CollectorOutcome['collector'] = 'containers'): CollectorOutcome => ({ collector, kind: 'collector', reason, message: `${reason} here` });

const input = (over: Partial<StatusInput>): StatusInput => ({ previous: 'UNKNOWN', consecutiveFailures: 0, monitoringEnabled: true, poll: [ok()], ...over });

describe('device status machine', () => {
  it('UNKNOWN → ONLINE on a clean poll, failures reset, host seen', () => {
    expect(nextStatus(input({ consecutiveFailures: 2 }))).toEqual({ status: 'ONLINE', consecutiveFailures: 0, reason: null, lastError: null, seen: true });
  });

  it.each<DeviceStatus>(['OFFLINE', 'AUTH_FAILED', 'HOST_KEY_MISMATCH', 'DEGRADED'])('%s → ONLINE when the host answers cleanly again', (previous) => {
    expect(nextStatus(input({ previous, consecutiveFailures: 7 })).status).toBe('ONLINE');
  });

  it('some collectors failing while others succeed → DEGRADED with the failure as reason', () => {
    const d = nextStatus(input({ previous: 'ONLINE', poll: [ok('system'), broken('DAEMON_DOWN')] }));
    expect(d.status).toBe('DEGRADED');
    expect(d.reason).toContain('containers: DAEMON_DOWN here');
    expect(d.lastError).toBe(d.reason);
    expect(d.seen).toBe(true);
  });

  it('partial problems of a successful collector → DEGRADED', () => {
    expect(nextStatus(input({ poll: [ok('drives', ['/dev/sdb: open failed'])] })).status).toBe('DEGRADED');
  });

  it('a collector UNAVAILABLE on the host does not degrade the device; the same failure of one that worked does', () => {
    expect(nextStatus(input({ poll: [ok('system'), broken('NOT_INSTALLED')], unavailable: new Set(['containers']) })).status).toBe('ONLINE');
    expect(nextStatus(input({ poll: [ok('system'), broken('NOT_INSTALLED')] })).status).toBe('DEGRADED');
  });

  it('a failure remembered from another collector keeps the device DEGRADED', () => {
    expect(nextStatus(input({ previous: 'DEGRADED', poll: [ok('system')], others: [broken('PERMISSION_DENIED', 'drives')] })).status).toBe('DEGRADED');
  });

  it('stale unreachable outcomes of other collectors do not count once the host answers', () => {
    expect(nextStatus(input({ previous: 'OFFLINE', consecutiveFailures: 5, poll: [ok('system')], others: [down('CONNECT', 'drives')] })).status).toBe('ONLINE');
  });

  it('the host answered but every collector failed → DEGRADED, not a connection failure', () => {
    const d = nextStatus(input({ previous: 'ONLINE', consecutiveFailures: 0, poll: [broken('BAD_OUTPUT', 'system')] }));
    expect(d).toMatchObject({ status: 'DEGRADED', consecutiveFailures: 0, seen: true });
  });

  it('an OUTPUT_LIMIT is the host answering badly → DEGRADED', () => {
    expect(nextStatus(input({ previous: 'ONLINE', poll: [down('OUTPUT_LIMIT')] })).status).toBe('DEGRADED');
  });

  it('unreachable fewer than N times keeps the status and counts', () => {
    const first = nextStatus(input({ previous: 'ONLINE', poll: [down('CONNECT')] }));
    expect(first).toMatchObject({ status: 'ONLINE', consecutiveFailures: 1, seen: false, lastError: 'system: CONNECT happened' });
    const second = nextStatus(input({ previous: 'ONLINE', consecutiveFailures: 1, poll: [down('TIMEOUT')] }));
    expect(second).toMatchObject({ status: 'ONLINE', consecutiveFailures: 2 });
  });

  it('the Nth consecutive unreachable poll → OFFLINE (default N = 3), and stays OFFLINE', () => {
    const d = nextStatus(input({ previous: 'ONLINE', consecutiveFailures: 2, poll: [down('CLOSED'), down('CONNECT', 'containers')] }));
    expect(d.status).toBe('OFFLINE');
    expect(d.consecutiveFailures).toBe(3);
    expect(d.reason).toMatch(/3 consecutive failed polls/);
    expect(nextStatus(input({ previous: 'OFFLINE', consecutiveFailures: 3, poll: [down('CONNECT')] })).status).toBe('OFFLINE');
  });

  it('N is configurable', () => {
    expect(nextStatus(input({ previous: 'ONLINE', poll: [down('CONNECT')], offlineAfter: 1 })).status).toBe('OFFLINE');
  });

  it('UNKNOWN stays UNKNOWN for the first failures of a device never reached', () => {
    expect(nextStatus(input({ poll: [down('CONNECT')] })).status).toBe('UNKNOWN');
  });

  it('rejected auth → AUTH_FAILED at once', () => {
    const d = nextStatus(input({ previous: 'ONLINE', poll: [down('AUTH'), down('AUTH', 'drives')] }));
    expect(d.status).toBe('AUTH_FAILED');
    expect(d.reason).toContain('AUTH happened');
  });

  it('host key refused → HOST_KEY_MISMATCH at once, even over AUTH', () => {
    expect(nextStatus(input({ previous: 'ONLINE', poll: [down('AUTH'), down('HOST_KEY', 'drives')] })).status).toBe('HOST_KEY_MISMATCH');
  });

  it('monitoring off → DISABLED whatever happened', () => {
    expect(nextStatus(input({ previous: 'ONLINE', monitoringEnabled: false, poll: [down('AUTH')] })).status).toBe('DISABLED');
  });

  it('an empty poll changes nothing', () => {
    expect(nextStatus(input({ previous: 'DEGRADED', consecutiveFailures: 1, poll: [] }))).toMatchObject({ status: 'DEGRADED', consecutiveFailures: 1 });
  });
});
