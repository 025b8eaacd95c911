import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('loadConfig', () => {
  test('defaults follow DESIGN §1', () => {
    const c = loadConfig({});
    expect(c.port).toBe(9101);
    expect(c.host).toBe('127.0.0.1');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.monitorLocalhost).toBe(true);
    expect(c.polling).toEqual({ enabled: true, intervals: { containers: 30, system: 300, drives: 3600, storage: 300, sensors: 300, gpu: 300 }, maxConcurrentDevices: 10 });
    expect(c.retentionDays).toEqual({ metrics: 30, drives: 365, containers: 30 });
    expect(c.dataDir.endsWith('.infrapulse')).toBe(true);
  });

  test('reads and converts every kind of value', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgresql://u@db:5433/x',
      PORT: '8080',
      POLLING_ENABLED: 'false',
      MONITOR_LOCALHOST: '0',
      POLLING_SYSTEM_METRICS_INTERVAL: '60',
      RETENTION_DRIVES_DAYS: '90',
      LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({ databaseUrl: 'postgresql://u@db:5433/x', port: 8080, monitorLocalhost: false, logLevel: 'debug' });
    expect(c.polling.enabled).toBe(false);
    expect(c.polling.intervals.system).toBe(60);
    expect(c.retentionDays.drives).toBe(90);
  });

  test('blank values count as unset', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '  ' }).port).toBe(9101);
  });

  test('every problem is reported at once, one line each, secrets not echoed', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', POLLING_ENABLED: 'maybe', POLLING_CONTAINER_INTERVAL: '1', INFRAPULSE_SECRET_KEY: 'short-secret', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(6);
    expect(problems.find((p) => p.startsWith('PORT='))).toContain('whole number');
    expect(problems.find((p) => p.startsWith('DATABASE_URL='))).toContain('postgresql://');
    expect(problems.find((p) => p.startsWith('POLLING_CONTAINER_INTERVAL='))).toContain('at least 5');
    const secret = problems.find((p) => p.startsWith('INFRAPULSE_SECRET_KEY='));
    expect(secret).toContain('(hidden)');
    expect(secret).not.toContain('short-secret');
    for (const p of problems) expect(p).not.toContain('\n');
  });
});
