import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.ts';
import { createSecretBox } from '../../../src/db/secrets.ts';
import { createConnections, type PollDevice, type RunnerHooks } from '../../../src/poller/connections.ts';
import type { CommandRunner } from '../../../src/transport/types.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** The fields connectionKey reads: enough of a device row for the runner registry. */
function deviceRow(id: string): PollDevice {
  return { id, transport: 'SSH', hostname: '127.0.0.1', port: 22, username: 'u', hostKeyFingerprint: null, credential: null } as Partial<PollDevice> as PollDevice;
}

const idleRunner: CommandRunner = { exec: () => Promise.reject(new Error('not used')), close: () => Promise.resolve() } as Partial<CommandRunner> as CommandRunner;

describe('connections', () => {
  // The runner lives as long as the device is polled, while its row is replaced on every change
  // (device-sync): hooks that held the row kept a stale copy (≈ 1.6 KB) per device.
  it('runner hooks do not keep the device row the runner was built from', async () => {
    const kept: RunnerHooks[] = [];
    const connections = createConnections({ secrets: createSecretBox(Buffer.alloc(32)), log: createLogger('silent'), onHostKey: () => undefined, factory: (_d, hooks) => (kept.push(hooks), idleRunner) });
    const first = ((): WeakRef<PollDevice> => {
      const row = deviceRow('d1');
      connections.get(row);
      return new WeakRef(row);
    })();
    // The same settings in a new row object, as device-sync hands over after an update: same runner.
    expect(connections.get(deviceRow('d1'))).toBe(idleRunner);
    expect(kept).toHaveLength(1);
    await new Promise((r) => setImmediate(r));
    gc();
    expect(first.deref()).toBeUndefined();
    kept[0]!.onStateChange('connecting');
    expect(connections.attempts('d1')).toBe(1);
  });
});
