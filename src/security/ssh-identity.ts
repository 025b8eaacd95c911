/**
 * infrapulse's own SSH key pair, so a host can be added by putting one line in its
 * authorized_keys instead of pasting a private key into the API (Beszel's model). Generated
 * into DATA_DIR at first start: `id_ed25519.sealed` holds the private key sealed like every
 * other secret (AES-256-GCM under INFRAPULSE_SECRET_KEY, base64), `id_ed25519.pub` the public
 * line. Devices that have no credential of their own log in with it.
 *
 * Key rotation re-seals the private key: it writes `id_ed25519.sealed.new` first and renames it
 * after the database is re-sealed; a crash in between leaves a `.new` that opens with the new
 * key, which is taken here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SecretBox } from '../db/secrets.ts';
import { generateEd25519Key, keyFingerprint, publicKeyLine } from '../transport/keys.ts';

export const IDENTITY_FILE = 'id_ed25519.sealed';
export const PUBLIC_FILE = 'id_ed25519.pub';

/**
 * The options SECURITY.md recommends for a monitoring key: no forwarding of any kind, no pty.
 * Commands still run (the collectors exec without a pty).
 */
export const AUTHORIZED_KEY_OPTIONS = 'no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty';

export interface SshIdentity {
  privateKey: string;
  /** `ssh-ed25519 AAAA… infrapulse@<server host name>` */
  publicKey: string;
  fingerprint: string;
  /** The line to add to ~/.ssh/authorized_keys on a monitored host. */
  authorizedKeysLine: string;
}

export const identityPath = (dataDir: string) => path.join(dataDir, IDENTITY_FILE);

function describe(privateKey: string, publicKey: string): SshIdentity {
  return { privateKey, publicKey, fingerprint: keyFingerprint(privateKey), authorizedKeysLine: `${AUTHORIZED_KEY_OPTIONS} ${publicKey}` };
}

function open(file: string, secrets: SecretBox): string {
  return secrets.decrypt(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'));
}

/** A rotation that stopped after re-sealing the database leaves the re-sealed key beside the old one. */
function finishRotation(dataDir: string, secrets: SecretBox): void {
  const pending = `${identityPath(dataDir)}.new`;
  if (!fs.existsSync(pending)) return;
  try {
    open(pending, secrets);
  } catch {
    // Sealed with a key that never became current: the rotation was abandoned.
    fs.rmSync(pending, { force: true });
    return;
  }
  fs.renameSync(pending, identityPath(dataDir));
}

function create(dataDir: string, secrets: SecretBox): SshIdentity {
  const privateKey = generateEd25519Key();
  const publicKey = publicKeyLine(privateKey, `infrapulse@${os.hostname()}`);
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    // wx: two instances starting on one DATA_DIR at once keep one key, the first one written.
    fs.writeFileSync(identityPath(dataDir), Buffer.from(secrets.encrypt(privateKey)).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return load(dataDir, secrets);
    throw e;
  }
  fs.writeFileSync(path.join(dataDir, PUBLIC_FILE), publicKey + '\n', { mode: 0o644 });
  return describe(privateKey, publicKey);
}

function load(dataDir: string, secrets: SecretBox): SshIdentity {
  let privateKey: string;
  try {
    privateKey = open(identityPath(dataDir), secrets);
  } catch (e) {
    throw new Error(`infrapulse's SSH key (${identityPath(dataDir)}) cannot be opened: ${(e as Error).message}`);
  }
  // The .pub file is a convenience copy for people; the sealed key is the truth.
  const publicKey = publicKeyLine(privateKey, `infrapulse@${os.hostname()}`);
  return describe(privateKey, publicKey);
}

const cache = new WeakMap<SecretBox, Map<string, SshIdentity>>();

/** The key pair in DATA_DIR, generated there on first use; loaded once per process. Throws when it cannot be opened. */
export function sshIdentity(dataDir: string, secrets: SecretBox): SshIdentity {
  const byDir = cache.get(secrets) ?? new Map<string, SshIdentity>();
  cache.set(secrets, byDir);
  const known = byDir.get(dataDir);
  if (known) return known;
  finishRotation(dataDir, secrets);
  const identity = fs.existsSync(identityPath(dataDir)) ? load(dataDir, secrets) : create(dataDir, secrets);
  byDir.set(dataDir, identity);
  return identity;
}

/**
 * Rotation, step one: the private key sealed with the new key, written beside the current file
 * (the caller renames it with commitResealedIdentity once the database is re-sealed). Returns
 * false when there is no key yet. Throws when the current key cannot open it.
 */
export function resealIdentity(dataDir: string, oldBox: SecretBox, newBox: SecretBox): boolean {
  const file = identityPath(dataDir);
  if (!fs.existsSync(file)) return false;
  let privateKey: string;
  try {
    privateKey = open(file, oldBox);
  } catch {
    throw new Error(`infrapulse's SSH key (${file}) cannot be decrypted with the current key: nothing was changed`);
  }
  fs.writeFileSync(`${file}.new`, Buffer.from(newBox.encrypt(privateKey)).toString('base64') + '\n', { mode: 0o600 });
  return true;
}

export function commitResealedIdentity(dataDir: string): void {
  fs.renameSync(`${identityPath(dataDir)}.new`, identityPath(dataDir));
}

export function abandonResealedIdentity(dataDir: string): void {
  fs.rmSync(`${identityPath(dataDir)}.new`, { force: true });
}
