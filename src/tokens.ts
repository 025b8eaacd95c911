/**
 * API tokens: 256 random bits shown once, stored as SHA-256. Verification is cached for a few
 * seconds (every request and WebSocket checks a token); revocation and expiry take effect
 * within that window, and open subscriptions are closed by the server on `tokenRevoked`.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PrismaClient } from './db/generated/client.ts';
import type { Principal, Role } from './graphql/context.ts';
import type { Logger } from './log.ts';

export const TOKEN_PREFIX = 'ipt_';
const CACHE_MS = 3000;
const LAST_USED_EVERY_MS = 60_000;

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
export const generateToken = (): string => TOKEN_PREFIX + randomBytes(32).toString('base64url');

export async function createApiToken(
  prisma: PrismaClient,
  input: { name: string; role: Role; expiresAt?: Date | null },
): Promise<{ token: string; apiToken: { id: string; name: string; role: Role; createdAt: Date; expiresAt: Date | null } }> {
  const token = generateToken();
  const row = await prisma.apiToken.create({
    data: { name: input.name, role: input.role, tokenHash: hashToken(token), expiresAt: input.expiresAt ?? null },
  });
  return { token, apiToken: { id: row.id, name: row.name, role: row.role, createdAt: row.createdAt, expiresAt: row.expiresAt } };
}

export function bearer(header: string | null | undefined): string | null {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1] ?? null;
}

export interface TokenVerifier {
  verify(token: string | null): Promise<Principal | null>;
  /** Forget cached verdicts (after revocation). */
  forget(tokenId?: string): void;
}

export function createTokenVerifier(prisma: PrismaClient): TokenVerifier {
  const cache = new Map<string, { principal: Principal | null; until: number; expiresAt: number | null }>();
  const lastUsedWritten = new Map<string, number>();
  return {
    async verify(token) {
      if (!token || token.length > 200) return null;
      const hash = hashToken(token);
      const now = Date.now();
      const hit = cache.get(hash);
      if (hit && hit.until > now && (hit.expiresAt === null || hit.expiresAt > now)) return hit.principal;
      const row = await prisma.apiToken.findUnique({ where: { tokenHash: hash } });
      const valid = row && !row.revokedAt && (!row.expiresAt || row.expiresAt.getTime() > now);
      const principal = valid ? { tokenId: row.id, name: row.name, role: row.role } : null;
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, { principal, until: now + CACHE_MS, expiresAt: row?.expiresAt?.getTime() ?? null });
      if (principal && (lastUsedWritten.get(principal.tokenId) ?? 0) < now - LAST_USED_EVERY_MS) {
        lastUsedWritten.set(principal.tokenId, now);
        void prisma.apiToken.update({ where: { id: principal.tokenId }, data: { lastUsedAt: new Date(now) } }).catch(() => undefined);
      }
      return principal;
    },
    forget(tokenId) {
      if (!tokenId) return cache.clear();
      for (const [k, v] of cache) if (v.principal?.tokenId === tokenId) cache.delete(k);
    },
  };
}

/**
 * INFRAPULSE_ADMIN_TOKEN is ensured as an ADMIN token; without it the first start creates one
 * and writes it to DATA_DIR/admin-token (0600). Returns where the token can be found.
 */
export async function ensureAdminToken(prisma: PrismaClient, configured: string | undefined, dataDir: string, log: Logger): Promise<string> {
  if (configured) {
    await prisma.apiToken.upsert({
      where: { tokenHash: hashToken(configured) },
      create: { name: 'admin (INFRAPULSE_ADMIN_TOKEN)', role: 'ADMIN', tokenHash: hashToken(configured) },
      update: { revokedAt: null, role: 'ADMIN' },
    });
    return 'INFRAPULSE_ADMIN_TOKEN';
  }
  const file = path.join(dataDir, 'admin-token');
  if (fs.existsSync(file)) {
    const token = fs.readFileSync(file, 'utf8').trim();
    const row = await prisma.apiToken.findUnique({ where: { tokenHash: hashToken(token) } });
    if (row && !row.revokedAt) return file;
    log.warn({ file }, 'the admin token in this file is unknown to the database or revoked; writing a new one');
  }
  const { token } = await createApiToken(prisma, { name: 'admin (generated)', role: 'ADMIN' });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, token + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}
