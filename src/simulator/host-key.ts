// The fleet's SSH host key, derived from the fleet seed: a restarted simulator (same --seed)
// presents the same key, so devices that pinned its fingerprint do not go HOST_KEY_MISMATCH.
// The key is public knowledge for anyone who knows the seed; that is fine for a simulator that
// accepts any password (--host-key FILE gives a private one).
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';

/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const sshString = (data: Buffer | string): Buffer => {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([u32(b.length), b]);
};

/**
 * An unencrypted OpenSSH ("openssh-key-v1") Ed25519 private key, the format ssh2 parses; Node
 * exports Ed25519 only as PKCS#8, which ssh2 does not read.
 */
export function seededHostKey(fleetSeed: number): string {
  const seed = createHash('sha256').update(`infrapulse simulator host key ${fleetSeed >>> 0}`).digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const pub = spki.subarray(spki.length - 32);
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = seed.readUInt32BE(0);
  let secret = Buffer.concat([
    u32(check),
    u32(check),
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(`simulator seed ${fleetSeed >>> 0}`),
  ]);
  const padding = Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1);
  secret = Buffer.concat([secret, Buffer.from(padding)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(publicBlob),
    sshString(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
