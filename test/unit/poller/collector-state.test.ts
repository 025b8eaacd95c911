import { describe, expect, it } from 'vitest';
import { nextCollectorState, readStates, REPROBE_SECONDS, scheduleIntervals, viewOf, writeStates, type CollectorRunState } from '../../../src/poller/collector-state.ts';
import type { CollectorOutcome } from '../../../src/poller/status.ts';

const T0 = new Date('2026-12-01T00:00:00Z');
const T1 = new Date('2026-12-01T00:01:00Z');
const ok: CollectorOutcome = { collector: 'containers', kind: 'ok', problems: [] };
const daemonDown: CollectorOutcome = { collector: 'containers', kind: 'collector', reason: 'DAEMON_DOWN', message: 'docker: the container engine daemon is not running' };
const badOutput: CollectorOutcome = { collector: 'containers', kind: 'collector', reason: 'BAD_OUTPUT', message: 'unreadable' };
const state = (s: CollectorRunState['state']): CollectorRunState => ({ state: s, reason: null, lastRunAt: T0, since: T0 });

describe('collector state machine', () => {
  it('never worked + not available here → UNAVAILABLE; worked before → FAILING', () => {
    expect(nextCollectorState(undefined, daemonDown, T1)).toEqual({ state: 'UNAVAILABLE', reason: daemonDown.message, lastRunAt: T1, since: T1 });
    expect(nextCollectorState(state('UNAVAILABLE'), daemonDown, T1)).toMatchObject({ state: 'UNAVAILABLE', since: T0 });
    expect(nextCollectorState(state('OK'), daemonDown, T1)).toMatchObject({ state: 'FAILING', since: T1 });
    expect(nextCollectorState(state('FAILING'), daemonDown, T1)).toMatchObject({ state: 'FAILING', since: T0 });
  });

  it('other failures and partial problems are FAILING; a clean run is OK', () => {
    expect(nextCollectorState(undefined, badOutput, T1)).toMatchObject({ state: 'FAILING' });
    expect(nextCollectorState(state('OK'), { ...ok, problems: ['/dev/sdb: open failed'] }, T1)).toMatchObject({ state: 'FAILING', reason: '/dev/sdb: open failed' });
    expect(nextCollectorState(state('UNAVAILABLE'), ok, T1)).toEqual({ state: 'OK', reason: null, lastRunAt: T1, since: T1 });
  });

  it('a host not reached says nothing about the collector; a timeout of one collector is FAILING', () => {
    expect(nextCollectorState(state('OK'), { collector: 'containers', kind: 'transport', error: 'CONNECT', message: 'refused' }, T1)).toBeUndefined();
    expect(nextCollectorState(state('OK'), { collector: 'containers', kind: 'transport', error: 'TIMEOUT', message: 'timed out' }, T1)).toMatchObject({ state: 'FAILING' });
  });

  it('schedule: switched off → not scheduled; UNAVAILABLE → hourly at most; otherwise its own interval', () => {
    const configured = { system: 300, containers: 30, drives: 7200, storage: 300, sensors: 60, gpu: 120 };
    const states = new Map([['containers', state('UNAVAILABLE')], ['drives', state('UNAVAILABLE')]] as const);
    expect(scheduleIntervals(configured, [], new Map())).toEqual(configured);
    expect(scheduleIntervals(configured, ['system'], states)).toEqual({ containers: REPROBE_SECONDS, drives: 7200, storage: 300, sensors: 60, gpu: 120 });
  });

  it('views: DISABLED when switched off or monitoring is off; null state before the first run', () => {
    expect(viewOf('drives', undefined, { disabled: [], monitoringEnabled: true })).toMatchObject({ state: null, enabled: true, lastRunAt: null });
    expect(viewOf('drives', state('OK'), { disabled: ['drives'], monitoringEnabled: true })).toMatchObject({ state: 'DISABLED', enabled: false, lastRunAt: T0 });
    expect(viewOf('drives', state('OK'), { disabled: [], monitoringEnabled: false })).toMatchObject({ state: 'DISABLED', enabled: true });
  });

  it('stored states round-trip through JSON; unreadable entries are dropped', () => {
    const states = new Map([['containers', { state: 'UNAVAILABLE', reason: 'no docker', lastRunAt: T0, since: T0 }]] as const);
    const json: unknown = JSON.parse(JSON.stringify({ ...writeStates(states), drives: { state: 'WHATEVER' }, gpu: {} }));
    expect(readStates(json)).toEqual(states);
    expect(readStates(null).size).toBe(0);
  });
});
