/**
 * The ed25519 generator's keys always parse. ssh2's own generator drops a leading zero byte of the
 * public key about once in 256 keys (a 31-byte key its parser then refuses as "Malformed OpenSSH
 * private key"): 2,000 keys hold such a key with a chance of 1 - (255/256)^2000 ≈ 99.96 %, so
 * calling ssh2 directly fails this test. Encrypted keys (bcrypt in JavaScript, slow) are fewer.
 */
import ssh2 from 'ssh2';
import { expect, test } from 'vitest';
import { generateEd25519Key, keyFingerprint } from '../../../src/transport/keys.ts';

const unparseable = (keys: string[], passphrase?: string) => keys.filter((k) => ssh2.utils.parseKey(k, passphrase) instanceof Error).length;

test('every plain key parses, and no two are the same', () => {
  const keys = Array.from({ length: 2000 }, () => generateEd25519Key());
  expect(unparseable(keys)).toBe(0);
  expect(new Set(keys.map(keyFingerprint)).size).toBe(keys.length);
});

test('every encrypted key parses with its passphrase, and only with it', () => {
  const keys = Array.from({ length: 20 }, () => generateEd25519Key({ passphrase: 'pp', rounds: 1 }));
  expect(unparseable(keys, 'pp')).toBe(0);
  expect(keys[0]).toContain('BEGIN OPENSSH PRIVATE KEY');
  expect(ssh2.utils.parseKey(keys[0]!, 'wrong')).toBeInstanceOf(Error);
});
