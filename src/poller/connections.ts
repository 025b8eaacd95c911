/**
 * One CommandRunner per device, kept across polls and shared by its collectors: an SSH
 * connection costs a handshake (≈ 5 ms of CPU) that must not be paid per poll. A runner is
 * replaced when what it was built from changes (address, user, credential, pinned key) and
 * closed when the device is deleted or disabled. transport/connect.ts builds each runner.
 */
import type { Credential, Device } from '../db/index.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { Logger } from '../log.ts';
import type { BackoffOptions } from '../transport/backoff.ts';
import { credentialSecret, openRunner } from '../transport/connect.ts';
import type { SshRunnerState } from '../transport/ssh.ts';
import type { CommandRunner, TransportError } from '../transport/types.ts';

export type PollDevice = Device & { credential: Credential | null };

/** What a runner tells the poller about its connection. */
export interface RunnerHooks {
  /** Trust on first use: the key the host presented while none was pinned. */
  onHostKey(fingerprint: string): void;
  onStateChange(state: SshRunnerState, error?: TransportError): void;
}

export type RunnerFactory = (device: PollDevice, hooks: RunnerHooks) => CommandRunner;

export interface ConnectionsOptions {
  secrets: SecretBox;
  log: Logger;
  factory?: RunnerFactory;
  execTimeoutMs?: number;
  /** SSH handshake limit (default 10 s). */
  readyTimeoutMs?: number;
  /** Reconnect delays of the SSH runners. */
  backoff?: Partial<BackoffOptions>;
  onHostKey(deviceId: string, fingerprint: string): void;
  /** infrapulse's own private key (src/security/ssh-identity.ts), for SSH devices with no credential. */
  ownKey?: () => string;
}

interface Held {
  key: string;
  runner: CommandRunner;
  /** Connection attempts so far: a failed exec without a new attempt was refused by the runner's backoff. */
  attempts: number;
  state: SshRunnerState | undefined;
  /** The host key this runner accepted on first use, if it did. */
  learned?: string;
}

export interface Connections {
  /** The device's runner, (re)built when its connection settings changed. Throws TransportError for unusable settings. */
  get(device: PollDevice): CommandRunner;
  attempts(deviceId: string): number;
  state(deviceId: string): SshRunnerState | undefined;
  close(deviceId: string): Promise<void>;
  closeAll(): Promise<void>;
  readonly size: number;
  /** SSH connections currently established. */
  openCount(): number;
}

/** Everything a runner is built from; a change means a new runner. */
export function connectionKey(d: PollDevice): string {
  return JSON.stringify([
    d.transport,
    d.hostname,
    d.port,
    d.username,
    d.hostKeyFingerprint,
    d.credential?.id ?? null,
    d.credential ? Buffer.from(d.credential.encryptedSecret).toString('base64') : null,
    d.credential?.encryptedPassphrase ? Buffer.from(d.credential.encryptedPassphrase).toString('base64') : null,
  ]);
}

async function closeRunner(runner: CommandRunner): Promise<void> {
  await runner.close().catch(() => undefined);
}

export function createConnections(options: ConnectionsOptions): Connections {
  const { log, secrets } = options;
  const held = new Map<string, Held>();

  const build = (device: PollDevice, hooks: RunnerHooks): CommandRunner =>
    openRunner(device, () => credentialSecret(device, device.credential, secrets, options.ownKey), {
      onHostKey: hooks.onHostKey,
      onStateChange: hooks.onStateChange,
      execTimeoutMs: options.execTimeoutMs,
      readyTimeoutMs: options.readyTimeoutMs,
      backoff: options.backoff,
    });

  /**
   * The hooks live as long as the runner, across every later copy of the device row: they close
   * over the id only, or each device kept its first row (≈ 1.6 KB) besides the current one.
   */
  const runnerHooks = (deviceId: string, entry: Held): RunnerHooks => ({
    onHostKey: (fingerprint) => {
      entry.learned = fingerprint;
      if (held.get(deviceId) !== entry) return;
      options.onHostKey(deviceId, fingerprint);
    },
    onStateChange: (state, error) => {
      entry.state = state;
      if (state === 'connecting') entry.attempts++;
      if (held.get(deviceId) !== entry) return;
      if (state === 'ready') log.debug({ deviceId }, 'connected');
      else if (state === 'backoff' || (state === 'idle' && error)) {
        log.info({ deviceId, kind: error?.kind, err: error?.message }, 'connection failed');
      }
    },
  });

  return {
    get(device) {
      const key = connectionKey(device);
      const current = held.get(device.id);
      if (current && current.key === key) return current.runner;
      // The device gained the key this runner learned on first use (and pins itself since):
      // same connection, no new handshake.
      if (current?.learned && current.key === connectionKey({ ...device, hostKeyFingerprint: null }) && device.hostKeyFingerprint === current.learned) {
        current.key = key;
        return current.runner;
      }
      if (current) {
        held.delete(device.id);
        void closeRunner(current.runner);
        log.debug({ deviceId: device.id }, 'connection settings changed: new runner');
      }
      const entry: Held = { key, runner: undefined as unknown as CommandRunner, attempts: 0, state: undefined };
      entry.runner = (options.factory ?? build)(device, runnerHooks(device.id, entry));
      held.set(device.id, entry);
      return entry.runner;
    },
    attempts: (deviceId) => held.get(deviceId)?.attempts ?? 0,
    state: (deviceId) => held.get(deviceId)?.state,
    async close(deviceId) {
      const current = held.get(deviceId);
      if (!current) return;
      held.delete(deviceId);
      await closeRunner(current.runner);
    },
    async closeAll() {
      const all = [...held.values()];
      held.clear();
      await Promise.all(all.map((h) => closeRunner(h.runner)));
    },
    get size() {
      return held.size;
    },
    openCount() {
      let n = 0;
      for (const h of held.values()) if (h.state === 'ready') n++;
      return n;
    },
  };
}
