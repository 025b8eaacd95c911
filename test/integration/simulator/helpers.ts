import { collectors, defaultCollectorOptions, type CollectorStates } from '../../../src/collectors/index.ts';
import type { CollectResult } from '../../../src/collectors/types.ts';
import { createSshRunner, type SshRunner } from '../../../src/transport/ssh.ts';
import type { Simulator } from '../../../src/simulator/index.ts';

/** A hand-moved wall clock: polls 30 s apart take no real time. */
export function manualClock(startMs = Date.UTC(2026, 0, 15, 12, 0, 0)) {
  let now = startMs;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  };
}

export function runnerFor(sim: Simulator, username: string): SshRunner {
  return createSshRunner({
    host: sim.host,
    port: sim.port,
    username,
    password: 'anything',
    expectedFingerprint: sim.hostKeyFingerprint,
    readyTimeoutMs: 10_000,
    keepaliveIntervalMs: 0,
  });
}

export interface PollState {
  system?: CollectorStates['system'];
}

export async function pollAll(
  runner: SshRunner,
  deviceId: string,
  time: Date,
  state: PollState,
): Promise<{
  system: CollectResult<CollectorStates['system']>;
  drives: CollectResult<CollectorStates['drives']>;
  containers: CollectResult<CollectorStates['containers']>;
}> {
  const base = { deviceId, time, runner, options: defaultCollectorOptions, timeoutMs: 10_000 };
  const [system, drives, containers] = await Promise.all([
    collectors.system.collect({ ...base, state: state.system }),
    collectors.drives.collect({ ...base, state: undefined }),
    collectors.containers.collect({ ...base, state: undefined }),
  ]);
  state.system = system.state;
  return { system, drives, containers };
}
