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

export interface ApiTokenRow {
  id: string;
  name: string;
  role: Role;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}
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

/** Marks a token revoked (idempotent: the first revocation time stays). Null when unknown. */
export async function revokeApiToken(prisma: PrismaClient, id: string): Promise<ApiTokenRow | null> {
  const row = await prisma.apiToken.findUnique({ where: { id }, omit: { tokenHash: true } });
  if (!row) return null;
  if (row.revokedAt) return row;
  return prisma.apiToken.update({ where: { id }, data: { revokedAt: new Date() }, omit: { tokenHash: true } });
}

/** Every token, newest first; never the hashes. */
export function listApiTokens(prisma: PrismaClient, includeRevoked: boolean): Promise<ApiTokenRow[]> {
  return prisma.apiToken.findMany({
    where: includeRevoked ? {} : { revokedAt: null },
    orderBy: { createdAt: 'desc' },
    omit: { tokenHash: true },
  });
}

/**
 * Of the given token ids, those no longer valid and why: revoked (or deleted) and expired.
 * One query however many connections are open; the server's sweep calls it every few seconds.
 */
export async function invalidTokens(prisma: PrismaClient, ids: string[], now = new Date()): Promise<Map<string, 'revoked' | 'expired'>> {
  const out = new Map<string, 'revoked' | 'expired'>();
  if (ids.length === 0) return out;
  const rows = await prisma.apiToken.findMany({ where: { id: { in: ids } }, select: { id: true, revokedAt: true, expiresAt: true } });
  const found = new Map(rows.map((r) => [r.id, r]));
  for (const id of ids) {
    const r = found.get(id);
    if (!r || r.revokedAt) out.set(id, 'revoked');
    else if (r.expiresAt && r.expiresAt.getTime() <= now.getTime()) out.set(id, 'expired');
  }
  return out;
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
