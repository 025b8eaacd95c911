// Shared wiring for poller integration tests: a config, a secret box, an event recorder.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../../src/config.ts';
import { createSecretBox, type SecretBox } from '../../../src/db/secrets.ts';
import { createEventBus, type EventBus, type Topics } from '../../../src/events/index.ts';
import type { FakeExecContext } from '../../helpers/fake-ssh-server.ts';

/** The real config loader with test settings, so new Config fields never break these tests. */
export function testConfig(dataDir: string, over: Partial<Config['polling']> = {}): Config {
  const config = loadConfig({ DATA_DIR: dataDir, MONITOR_LOCALHOST: 'false', POLLING_ENABLED: 'false', LOG_LEVEL: 'silent' });
  return { ...config, polling: { ...config.polling, ...over } };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function testSecrets(): SecretBox {
  return createSecretBox(randomBytes(32));
}

/** Records every event of some topics; `stop()` ends the subscriptions. */
export function recordEvents<K extends keyof Topics>(events: EventBus, topic: K, onEvent?: (e: Topics[K][0]) => void | Promise<void>) {
  const seen: Array<Topics[K][0]> = [];
  const subscribe = events.subscribe as (t: K) => AsyncIterable<Topics[K][0]>;
  const iterator = subscribe.call(events, topic)[Symbol.asyncIterator]();
  const loop = (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const e = next.value as Topics[K][0];
      await onEvent?.(e);
      seen.push(e);
    }
  })();
  return {
    seen,
    async stop() {
      await iterator.return?.();
      await loop;
    },
  };
}

export function newBus(): EventBus {
  return createEventBus();
}

/** A fake-SSH exec handler that really runs the command here: realistic output through a scripted server. */
export function execLocally({ command, channel }: FakeExecContext): void {
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => channel.write(d));
  child.stderr.on('data', (d: Buffer) => channel.stderr.write(d));
  child.on('close', (code) => {
    channel.exit(code ?? 1);
    channel.end();
  });
}

export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
