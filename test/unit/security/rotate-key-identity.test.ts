/** `infrapulse rotate-key` re-seals infrapulse's own SSH key in DATA_DIR with the database, and leaves it alone when the rotation fails. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, test, vi } from 'vitest';
import { createSecretBox } from '../../../src/db/secrets.ts';
import { runRotateKey } from '../../../src/security/rotate-key.ts';
import { IDENTITY_FILE, sshIdentity } from '../../../src/security/ssh-identity.ts';
import { createTestDatabase } from '../../helpers/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const dirs: string[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.close());
afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await db.prisma.credential.deleteMany();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(): { dataDir: string; oldKey: Buffer; privateKey: string; err: string[] } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-rotate-id-'));
  dirs.push(dataDir);
  const oldKey = randomBytes(32);
  fs.writeFileSync(path.join(dataDir, 'secret-key'), oldKey.toString('hex') + '\n', { mode: 0o600 });
  const { privateKey } = sshIdentity(dataDir, createSecretBox(oldKey));
  vi.stubEnv('DATABASE_URL', db.url);
  vi.stubEnv('DATA_DIR', dataDir);
  vi.stubEnv('LOG_LEVEL', 'silent');
  vi.stubEnv('INFRAPULSE_SECRET_KEY', '');
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return { dataDir, oldKey, privateKey, err };
}

test('the SSH key opens with the new key after a rotation', async () => {
  const { dataDir, privateKey, err } = setup();
  expect(await runRotateKey(['--generate'])).toBe(0);
  const newKey = Buffer.from(fs.readFileSync(path.join(dataDir, 'secret-key'), 'utf8').trim(), 'hex');
  expect(sshIdentity(dataDir, createSecretBox(newKey)).privateKey).toBe(privateKey);
  expect(fs.existsSync(path.join(dataDir, `${IDENTITY_FILE}.new`))).toBe(false);
  expect(err.join('')).toMatch(/and infrapulse's SSH key/);
});

test('a failed rotation leaves the SSH key sealed with the old key and no .new behind', async () => {
  const { dataDir, oldKey, privateKey, err } = setup();
  await db.prisma.credential.create({ data: { name: 'foreign', kind: 'PASSWORD', encryptedSecret: new Uint8Array(createSecretBox(randomBytes(32)).encrypt('x')) } });
  const before = fs.readFileSync(path.join(dataDir, IDENTITY_FILE), 'utf8');
  expect(await runRotateKey(['--generate'])).toBe(1);
  expect(err.join('')).toMatch(/nothing changed/);
  expect(fs.readFileSync(path.join(dataDir, IDENTITY_FILE), 'utf8')).toBe(before);
  expect(fs.existsSync(path.join(dataDir, `${IDENTITY_FILE}.new`))).toBe(false);
  expect(sshIdentity(dataDir, createSecretBox(oldKey)).privateKey).toBe(privateKey);
});
