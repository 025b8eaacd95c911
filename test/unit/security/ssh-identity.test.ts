/**
 * infrapulse's own SSH key in DATA_DIR: generated once (0600, sealed, never in clear text on
 * disk), the same key on every load, an authorized_keys line restricted as SECURITY.md
 * recommends; a rotation re-seals it, and a rotation interrupted after the database commit is
 * finished at the next load while an abandoned one is dropped.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createSecretBox } from '../../../src/db/secrets.ts';
import { AUTHORIZED_KEY_OPTIONS, commitResealedIdentity, IDENTITY_FILE, PUBLIC_FILE, resealIdentity, sshIdentity } from '../../../src/security/ssh-identity.ts';
import { keyFingerprint } from '../../../src/transport/keys.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-identity-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const box = () => createSecretBox(randomBytes(32));

describe('sshIdentity', () => {
  test('generated once into DATA_DIR, sealed with mode 0600; the same key after a restart', () => {
    const dir = tmp();
    const secrets = box();
    const first = sshIdentity(dir, secrets);
    const sealed = path.join(dir, IDENTITY_FILE);
    expect(fs.statSync(sealed).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(sealed, 'utf8')).not.toMatch(/PRIVATE KEY|openssh/i);
    expect(first.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    expect(first.publicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ infrapulse@\S+$/);
    expect(fs.readFileSync(path.join(dir, PUBLIC_FILE), 'utf8').trim()).toBe(first.publicKey);
    expect(first.fingerprint).toBe(keyFingerprint(first.privateKey));
    expect(first.authorizedKeysLine).toBe(`${AUTHORIZED_KEY_OPTIONS} ${first.publicKey}`);
    expect(AUTHORIZED_KEY_OPTIONS).toBe('no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty');

    // "Restart": another box object with the same key bytes is a fresh process's view.
    const key = randomBytes(32);
    const dir2 = tmp();
    const made = sshIdentity(dir2, createSecretBox(key));
    const reloaded = sshIdentity(dir2, createSecretBox(key));
    expect(reloaded.privateKey).toBe(made.privateKey);
  });

  test('a key that cannot open the file is an error naming the file, not a new key', () => {
    const dir = tmp();
    const made = sshIdentity(dir, box());
    expect(() => sshIdentity(dir, box())).toThrow(new RegExp(`${IDENTITY_FILE}\\) cannot be opened`));
    expect(fs.readFileSync(path.join(dir, PUBLIC_FILE), 'utf8').trim()).toBe(made.publicKey);
  });

  test('rotation re-seals it; an interrupted rotation is finished, an abandoned one dropped', () => {
    const dir = tmp();
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const made = sshIdentity(dir, createSecretBox(oldKey));

    // Re-sealed beside the old file, then "crashed" before the rename: the next start uses the new key.
    expect(resealIdentity(dir, createSecretBox(oldKey), createSecretBox(newKey))).toBe(true);
    expect(fs.existsSync(path.join(dir, `${IDENTITY_FILE}.new`))).toBe(true);
    expect(sshIdentity(dir, createSecretBox(newKey)).privateKey).toBe(made.privateKey);
    expect(fs.existsSync(path.join(dir, `${IDENTITY_FILE}.new`))).toBe(false);

    // An abandoned rotation (its key never became current) leaves a .new the current key cannot open.
    const other = randomBytes(32);
    resealIdentity(dir, createSecretBox(newKey), createSecretBox(other));
    expect(sshIdentity(dir, createSecretBox(newKey)).privateKey).toBe(made.privateKey);
    expect(fs.existsSync(path.join(dir, `${IDENTITY_FILE}.new`))).toBe(false);

    // The normal path: re-seal, commit.
    resealIdentity(dir, createSecretBox(newKey), createSecretBox(other));
    commitResealedIdentity(dir);
    expect(sshIdentity(dir, createSecretBox(other)).privateKey).toBe(made.privateKey);
    expect(resealIdentity(tmp(), createSecretBox(other), box())).toBe(false);
  });
});
