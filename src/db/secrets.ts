/**
 * Secrets at rest (SSH keys, passwords, channel tokens): AES-256-GCM under
 * INFRAPULSE_SECRET_KEY, or a key generated into DATA_DIR/secret-key (mode 0600) on first start.
 * Layout: version byte 1 | 12-byte IV | 16-byte tag | ciphertext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const VERSION = 1;

export interface SecretBox {
  /** Prisma's Bytes columns take a Uint8Array over a plain ArrayBuffer. */
  encrypt(plaintext: string): Uint8Array<ArrayBuffer>;
  decrypt(sealed: Uint8Array): string;
}

export function parseKey(text: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error('INFRAPULSE_SECRET_KEY must be 32 bytes (64 hex characters or base64)');
  return key;
}

/** The configured key, else the one in DATA_DIR, else a new one written there. */
export function loadSecretKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured) return parseKey(configured);
  const file = path.join(dataDir, 'secret-key');
  if (fs.existsSync(file)) return parseKey(fs.readFileSync(file, 'utf8').trim());
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

export function createSecretBox(key: Buffer): SecretBox {
  return {
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return new Uint8Array(Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]));
    },
    decrypt(sealed) {
      const buf = Buffer.from(sealed);
      if (buf.length < 29 || buf[0] !== VERSION) throw new Error('stored secret is not in a known format');
      const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(1, 13));
      decipher.setAuthTag(buf.subarray(13, 29));
      try {
        return Buffer.concat([decipher.update(buf.subarray(29)), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('stored secret cannot be decrypted: INFRAPULSE_SECRET_KEY differs from the key it was sealed with');
      }
    },
  };
}
