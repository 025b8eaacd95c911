/**
 * The one place a device (or a connection about to become one) and its credential turn into a
 * CommandRunner: the poller's persistent connections and the API's testConnection both come
 * here. Secrets are decrypted only here, only to hand them to ssh2, and never logged.
 */
import type { Credential } from '../db/generated/client.ts';
import type { SecretBox } from '../db/secrets.ts';
import { createLocalRunner } from './local.ts';
import { createSshRunner, type SshRunner, type SshRunnerOptions } from './ssh.ts';
import { TransportError, type CommandRunner } from './types.ts';

/** What ssh2 authenticates with. */
export interface SshSecret {
  privateKey?: string;
  passphrase?: string;
  password?: string;
}

/** Where a runner connects: a stored device or the fields of a connection test. */
export interface RunnerTarget {
  transport: 'SSH' | 'LOCAL';
  hostname: string;
  port: number;
  username: string | null;
  /** The pinned host key; none: trust on first use (onHostKey reports it). */
  hostKeyFingerprint: string | null;
}

/** Tuning and callbacks passed through to the SSH runner (the local runner takes the exec timeout). */
export type RunnerOptions = Pick<
  SshRunnerOptions,
  'onHostKey' | 'onStateChange' | 'execTimeoutMs' | 'readyTimeoutMs' | 'backoff' | 'keepaliveIntervalMs' | 'maxOutputBytes'
>;

/**
 * A stored credential in clear, or infrapulse's own key (src/security/ssh-identity.ts) for a
 * device with none. A credential that cannot be decrypted (another INFRAPULSE_SECRET_KEY) is an
 * AUTH error naming the host.
 */
export function credentialSecret(target: Pick<RunnerTarget, 'hostname' | 'port'>, credential: Credential | null, secrets: SecretBox, ownKey?: () => string): SshSecret {
  try {
    if (!credential) return ownKey ? { privateKey: ownKey() } : {};
    const secret = secrets.decrypt(credential.encryptedSecret);
    if (credential.kind === 'PASSWORD') return { password: secret };
    return { privateKey: secret, passphrase: credential.encryptedPassphrase ? secrets.decrypt(credential.encryptedPassphrase) : undefined };
  } catch (err) {
    throw new TransportError('AUTH', `ssh ${target.hostname}:${target.port}: ${(err as Error).message}`);
  }
}

/** A local runner, or an SSH runner that connects on its first exec. */
export function openRunner(target: RunnerTarget, secret: () => SshSecret, options: RunnerOptions = {}): CommandRunner | SshRunner {
  if (target.transport === 'LOCAL') return createLocalRunner({ defaultTimeoutMs: options.execTimeoutMs, defaultMaxOutputBytes: options.maxOutputBytes });
  if (!target.username) throw new TransportError('AUTH', `ssh ${target.hostname}:${target.port}: device has no username`);
  return createSshRunner({
    ...options,
    ...secret(),
    host: target.hostname,
    port: target.port,
    username: target.username,
    expectedFingerprint: target.hostKeyFingerprint ?? undefined,
  });
}
