/**
 * Secret-key rotation: every encrypted column is decrypted with the old key and sealed with
 * the new one in one transaction, so the database never holds a mix of keys. Run it with
 * the server stopped (a running server keeps sealing with the key it started with).
 *
 *   infrapulse rotate-key --generate          a new random key
 *   infrapulse rotate-key --new-key HEX       a key of your own (64 hex characters)
 *
 * Where the old key came from decides where the new one goes: DATA_DIR/secret-key is
 * replaced (mode 0600; the new key is written next to it before the transaction, so a crash
 * never loses the key the data is sealed with); with INFRAPULSE_SECRET_KEY the new key is
 * printed once and the setting must be changed before the next start.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { PrismaClient } from '../db/generated/client.ts';
import { storeKeyCheck } from '../db/key-check.ts';
import { createSecretBox, parseKey, type SecretBox } from '../db/secrets.ts';
import { abandonResealedIdentity, commitResealedIdentity, resealIdentity } from './ssh-identity.ts';

export interface RotationCounts {
  credentials: number;
  channels: number;
}

/**
 * Re-encrypts Credential.encryptedSecret/encryptedPassphrase and
 * NotificationChannel.encryptedSecret. A value the old key cannot open aborts the whole
 * rotation: nothing is written.
 */
export async function rotateSecretKey(db: { prisma: PrismaClient }, oldBox: SecretBox, newBox: SecretBox, newKey?: Buffer): Promise<RotationCounts> {
  const reseal = (sealed: Uint8Array, what: string): Uint8Array<ArrayBuffer> => {
    let plain: string;
    try {
      plain = oldBox.decrypt(sealed);
    } catch {
      throw new Error(`${what} cannot be decrypted with the current key: nothing was changed`);
    }
    return new Uint8Array(newBox.encrypt(plain));
  };
  return db.prisma.$transaction(
    async (tx) => {
      const credentials = await tx.credential.findMany({ select: { id: true, name: true, encryptedSecret: true, encryptedPassphrase: true } });
      for (const c of credentials) {
        await tx.credential.update({
          where: { id: c.id },
          data: {
            encryptedSecret: reseal(c.encryptedSecret, `credential "${c.name}"`),
            encryptedPassphrase: c.encryptedPassphrase ? reseal(c.encryptedPassphrase, `credential "${c.name}" (passphrase)`) : null,
          },
        });
      }
      const channels = await tx.notificationChannel.findMany({ where: { encryptedSecret: { not: null } }, select: { id: true, name: true, encryptedSecret: true } });
      for (const ch of channels) {
        if (!ch.encryptedSecret) continue;
        await tx.notificationChannel.update({ where: { id: ch.id }, data: { encryptedSecret: reseal(ch.encryptedSecret, `notification channel "${ch.name}"`) } });
      }
      // The database's key check follows the key (src/db/key-check.ts), in the same transaction.
      if (newKey) await storeKeyCheck((sql, params) => tx.$executeRawUnsafe(sql, ...params), newKey);
      return { credentials: credentials.length, channels: channels.length };
    },
    { timeout: 120_000, maxWait: 10_000 },
  );
}

const USAGE = 'usage: infrapulse rotate-key --generate | --new-key HEX\n';

/** The CLI command; returns the exit code (0 done, 1 failed, 2 usage). */
export async function runRotateKey(argv: string[]): Promise<number> {
  let values: { generate?: boolean; 'new-key'?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { generate: { type: 'boolean' }, 'new-key': { type: 'string' } } }));
  } catch (e) {
    process.stderr.write(`infrapulse: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (Boolean(values.generate) === Boolean(values['new-key'])) {
    process.stderr.write(USAGE);
    return 2;
  }
  let newKey: Buffer;
  try {
    newKey = values.generate ? randomBytes(32) : parseKey(values['new-key'] ?? '');
  } catch {
    process.stderr.write('infrapulse: --new-key must be 32 bytes: 64 hex characters (or base64)\n');
    return 2;
  }

  const { loadConfig, ConfigError } = await import('../config.ts');
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) process.stderr.write(`infrapulse: invalid setting ${p}\n`);
    return 1;
  }
  const keyFile = path.join(config.dataDir, 'secret-key');
  const fromEnv = Boolean(config.secretKey);
  if (!fromEnv && !fs.existsSync(keyFile)) {
    process.stderr.write(`infrapulse: no current key: INFRAPULSE_SECRET_KEY is unset and ${keyFile} does not exist\n`);
    return 1;
  }
  const oldKey = parseKey(config.secretKey ?? fs.readFileSync(keyFile, 'utf8').trim());
  if (oldKey.equals(newKey)) {
    process.stderr.write('infrapulse: the new key is the current key\n');
    return 2;
  }

  const pending = `${keyFile}.new`;
  if (!fromEnv) fs.writeFileSync(pending, newKey.toString('hex') + '\n', { mode: 0o600 });

  const { createLogger } = await import('../log.ts');
  const { openDatabase } = await import('../db/index.ts');
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const oldBox = createSecretBox(oldKey);
  const newBox = createSecretBox(newKey);
  let counts: RotationCounts;
  let identity = false;
  try {
    identity = resealIdentity(config.dataDir, oldBox, newBox);
    const db = await openDatabase(config, log, { command: 'rotate-key' });
    try {
      counts = await rotateSecretKey(db, oldBox, newBox, newKey);
    } finally {
      await db.close();
    }
  } catch (e) {
    if (!fromEnv) fs.rmSync(pending, { force: true });
    abandonResealedIdentity(config.dataDir);
    process.stderr.write(`infrapulse: key rotation failed, nothing changed: ${(e as Error).message}\n`);
    return 1;
  }

  const summary =
    `re-encrypted ${counts.credentials} credential(s) and ${counts.channels} notification channel secret(s)` + (identity ? ' and infrapulse\'s SSH key' : '');
  if (fromEnv) {
    if (identity) commitResealedIdentity(config.dataDir);
    process.stdout.write(`${newKey.toString('hex')}\n`);
    process.stderr.write(`${summary}; set INFRAPULSE_SECRET_KEY to the key above before the next start (it is shown only this once)\n`);
  } else {
    fs.renameSync(pending, keyFile);
    if (identity) commitResealedIdentity(config.dataDir);
    process.stderr.write(`${summary}; the new key is in ${keyFile}\n`);
  }
  return 0;
}
