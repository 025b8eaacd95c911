/** Key rotation re-seals every encrypted column in one transaction, and the CLI puts the new key where the old one was. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { createSecretBox, type SecretBox } from '../../../src/db/secrets.ts';
import { rotateSecretKey, runRotateKey } from '../../../src/security/rotate-key.ts';
import { createTestDatabase } from '../../helpers/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.close());
afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await db.prisma.credential.deleteMany();
  await db.prisma.notificationChannel.deleteMany();
});

const PEM = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

async function seed(box: SecretBox) {
  await db.prisma.credential.create({ data: { name: 'key', kind: 'PRIVATE_KEY', encryptedSecret: new Uint8Array(box.encrypt(PEM)), encryptedPassphrase: new Uint8Array(box.encrypt('pass phrase')) } });
  await db.prisma.credential.create({ data: { name: 'pw', kind: 'PASSWORD', encryptedSecret: new Uint8Array(box.encrypt('hunter2')) } });
  await db.prisma.notificationChannel.create({ data: { name: 'hook', kind: 'WEBHOOK', url: 'https://example.test/h', encryptedSecret: new Uint8Array(box.encrypt('hmac-key')) } });
  await db.prisma.notificationChannel.create({ data: { name: 'plain', kind: 'NTFY', url: 'https://ntfy.test/t' } });
}

async function opened(box: SecretBox) {
  const creds = await db.prisma.credential.findMany({ orderBy: { name: 'asc' } });
  const channels = await db.prisma.notificationChannel.findMany({ orderBy: { name: 'asc' } });
  return {
    credentials: creds.map((c) => [c.name, box.decrypt(c.encryptedSecret), c.encryptedPassphrase ? box.decrypt(c.encryptedPassphrase) : null]),
    channels: channels.map((c) => [c.name, c.encryptedSecret ? box.decrypt(c.encryptedSecret) : null]),
  };
}

const expected = {
  credentials: [['key', PEM, 'pass phrase'], ['pw', 'hunter2', null]],
  channels: [['hook', 'hmac-key'], ['plain', null]],
};

describe('rotateSecretKey', () => {
  test('every encrypted column opens with the new key and no longer with the old', async () => {
    const oldBox = createSecretBox(randomBytes(32));
    const newBox = createSecretBox(randomBytes(32));
    await seed(oldBox);
    expect(await rotateSecretKey(db, oldBox, newBox)).toEqual({ credentials: 2, channels: 1 });
    expect(await opened(newBox)).toEqual(expected);
    await expect(opened(oldBox)).rejects.toThrow(/cannot be decrypted/);
  });

  test('a value the old key cannot open aborts the rotation and changes nothing', async () => {
    const oldBox = createSecretBox(randomBytes(32));
    const stranger = createSecretBox(randomBytes(32));
    await seed(oldBox);
    await db.prisma.credential.create({ data: { name: 'zz-foreign', kind: 'PASSWORD', encryptedSecret: new Uint8Array(stranger.encrypt('x')) } });
    const before = await db.prisma.credential.findMany({ orderBy: { name: 'asc' } });
    await expect(rotateSecretKey(db, oldBox, createSecretBox(randomBytes(32)))).rejects.toThrow(/credential "zz-foreign" cannot be decrypted with the current key: nothing was changed/);
    const after = await db.prisma.credential.findMany({ orderBy: { name: 'asc' } });
    expect(after.map((c) => Buffer.from(c.encryptedSecret).toString('hex'))).toEqual(before.map((c) => Buffer.from(c.encryptedSecret).toString('hex')));
  });
});

describe('infrapulse rotate-key', () => {
  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
    return { out, err };
  }

  function env(extra: Record<string, string> = {}) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-rotate-'));
    vi.stubEnv('DATABASE_URL', db.url);
    vi.stubEnv('DATA_DIR', dataDir);
    vi.stubEnv('LOG_LEVEL', 'silent');
    vi.stubEnv('INFRAPULSE_SECRET_KEY', '');
    for (const [k, v] of Object.entries(extra)) vi.stubEnv(k, v);
    return dataDir;
  }

  test('usage errors exit 2 and touch nothing', async () => {
    const { err } = capture();
    expect(await runRotateKey([])).toBe(2);
    expect(await runRotateKey(['--generate', '--new-key', 'ab'.repeat(32)])).toBe(2);
    expect(await runRotateKey(['--new-key', 'not-a-key'])).toBe(2);
    expect(await runRotateKey(['--bogus'])).toBe(2);
    expect(err.join('')).toMatch(/usage: infrapulse rotate-key --generate \| --new-key HEX/);
  });

  test('--generate with the key in DATA_DIR: the file holds the new key (0600) and the data opens with it', async () => {
    const dataDir = env();
    const oldKey = randomBytes(32);
    fs.writeFileSync(path.join(dataDir, 'secret-key'), oldKey.toString('hex') + '\n', { mode: 0o600 });
    await seed(createSecretBox(oldKey));
    const { out, err } = capture();
    expect(await runRotateKey(['--generate'])).toBe(0);
    const keyFile = path.join(dataDir, 'secret-key');
    const newKey = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex');
    expect(newKey.length).toBe(32);
    expect(newKey.equals(oldKey)).toBe(false);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${keyFile}.new`)).toBe(false);
    expect(out.join('')).toBe(''); // the key stays in the file, never on the terminal
    expect(err.join('')).toMatch(/re-encrypted 2 credential\(s\) and 1 notification channel secret\(s\)/);
    expect(await opened(createSecretBox(newKey))).toEqual(expected);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('--new-key with INFRAPULSE_SECRET_KEY: the new key is printed once for the operator to set', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const dataDir = env({ INFRAPULSE_SECRET_KEY: oldKey.toString('hex') });
    await seed(createSecretBox(oldKey));
    const { out, err } = capture();
    expect(await runRotateKey(['--new-key', newKey.toString('hex')])).toBe(0);
    expect(out.join('').trim()).toBe(newKey.toString('hex'));
    expect(err.join('')).toMatch(/set INFRAPULSE_SECRET_KEY/);
    expect(fs.existsSync(path.join(dataDir, 'secret-key'))).toBe(false);
    expect(await opened(createSecretBox(newKey))).toEqual(expected);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('without a current key it refuses', async () => {
    const dataDir = env();
    const { err } = capture();
    expect(await runRotateKey(['--generate'])).toBe(1);
    expect(err.join('')).toMatch(/no current key/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
