/**
 * SSH key material in OpenSSH formats: ed25519 key pairs (host keys for the simulator and
 * tests, infrapulse's own client key; tests draw every key here, never from ssh2 directly),
 * their SHA256 fingerprints as `ssh-keygen -lf` prints them, and authorized_keys public lines.
 */
import { sshFingerprint } from './host-key.ts';
import ssh2, { type ParsedKey } from 'ssh2';

const { utils } = ssh2;

function parsed(privateKey: string): ParsedKey {
  const key = utils.parseKey(privateKey);
  if (key instanceof Error) throw key;
  const first = Array.isArray(key) ? (key[0] as ParsedKey | undefined) : key;
  if (first === undefined) throw new Error('no key in the key text');
  return first;
}

/**
 * A new ed25519 private key in OpenSSH format; with `encryption`, encrypted with its passphrase
 * (aes256-ctr, bcrypt KDF of `rounds`, 16 as ssh-keygen).
 */
export function generateEd25519Key(encryption?: { passphrase: string; rounds?: number }): string {
  const options = encryption && { passphrase: encryption.passphrase, cipher: 'aes256-ctr', rounds: encryption.rounds ?? 16 };
  // ssh2's generator drops a leading zero byte of the public key about once in 256 keys, and
  // then cannot parse its own output: draw again.
  for (;;) {
    const key = utils.generateKeyPairSync('ed25519', options).private;
    if (!(utils.parseKey(key, encryption?.passphrase) instanceof Error)) return key;
  }
}

/** `SHA256:` + unpadded base64 of the public key blob, as OpenSSH shows it. */
export function keyFingerprint(privateKey: string): string {
  return sshFingerprint(parsed(privateKey).getPublicSSH());
}

/** The public half as one authorized_keys line: `ssh-ed25519 AAAA… comment`. */
export function publicKeyLine(privateKey: string, comment: string): string {
  const key = parsed(privateKey);
  return `${key.type} ${key.getPublicSSH().toString('base64')} ${comment}`.trim();
}
