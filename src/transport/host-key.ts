/**
 * Host-key policy of one SSH runner: a pinned key must match exactly; with nothing pinned the
 * first key presented is trusted (TOFU), reported to the caller and pinned by the runner itself.
 */
import { createHash } from 'node:crypto';
import type { SshRunnerOptions } from './ssh.ts';
import { TransportError } from './types.ts';

/** OpenSSH's `SHA256:` + 43 unpadded base64 characters, as `ssh-keygen -lf` prints it. */
export const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** OpenSSH's fingerprint format for a raw public key blob: `SHA256:` + unpadded base64 of its SHA-256. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export interface HostKeyPolicy {
  /** Fingerprint the server presented on the latest handshake (also set when it was refused). */
  readonly presented: string | undefined;
  /** Decides one handshake's key: undefined accepts it, a HOST_KEY error refuses it. */
  check(key: Buffer): TransportError | undefined;
}

export function createHostKeyPolicy(where: string, options: Pick<SshRunnerOptions, 'expectedFingerprint' | 'onHostKey'>): HostKeyPolicy {
  let presented: string | undefined;
  let pinned = options.expectedFingerprint || undefined;
  return {
    get presented() {
      return presented;
    },
    check(key: Buffer): TransportError | undefined {
      const fingerprint = sshFingerprint(key);
      presented = fingerprint;
      const expected = pinned;
      if (expected !== undefined) {
        if (fingerprint !== expected) {
          return new TransportError(
            'HOST_KEY',
            `${where}: host key ${fingerprint} does not match the pinned ${expected}; refusing to connect`,
            { fingerprint, expected },
          );
        }
        return undefined;
      }
      // From here on this runner pins the key itself: a reconnect never accepts another.
      pinned = fingerprint;
      try {
        options.onHostKey?.(fingerprint);
      } catch {
        // Recording is the caller's business; a failure there must not abort the handshake.
      }
      return undefined;
    },
  };
}
