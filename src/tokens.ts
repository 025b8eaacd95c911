/**
 * API tokens: 256 random bits shown once, stored as SHA-256. Verification is cached for a few
 * seconds (every request and WebSocket checks a token); revocation and expiry take effect
 * within that window, and open subscriptions are closed by the server on `tokenRevoked`.
 * While the database is unreachable, tokens it confirmed recently keep working for a bounded
 * grace (TOKEN_OUTAGE_GRACE_SECONDS); a token it cannot check gets "database unavailable",
 * never a 401, so an outage does not look like a wrong token nor count as a failed login.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PrismaClient } from './db/generated/client.ts';
import type { Role } from './db/generated/enums.ts';
import type { Logger } from './log.ts';
import { isDatabaseUnavailable } from './db/unavailable.ts';
import { DatabaseUnavailableError } from './server/database-unavailable.ts';

export const TOKEN_PREFIX = 'ipt_';

export type { Role };

/** Who a verified token speaks for. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

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
  /** The token's principal, or null when it is unknown, revoked or expired. Throws DatabaseUnavailableError when that cannot be told. */
  verify(token: string | null): Promise<Principal | null>;
  /** Forget cached verdicts (after revocation). */
  forget(tokenId?: string): void;
}

export interface TokenVerifierOptions {
  /**
   * While the database is unreachable, a token the database confirmed within this long still
   * works (TOKEN_OUTAGE_GRACE_SECONDS); others get DatabaseUnavailableError. 0: none.
   */
  outageGraceMs?: number;
}

/** After a failed lookup the database is not asked again for this long: a dead host must not cost every request a connect attempt. */
const DOWN_RECHECK_MS = 1000;
const MAX_CACHED = 10_000;

export function createTokenVerifier(prisma: PrismaClient, options: TokenVerifierOptions = {}): TokenVerifier {
  const graceMs = options.outageGraceMs ?? 0;
  const cache = new Map<string, { principal: Principal | null; until: number; expiresAt: number | null }>();
  /** The last verdict the database gave for each valid token: what an outage may fall back on. */
  const confirmed = new Map<string, { principal: Principal; at: number; expiresAt: number | null }>();
  const lastUsedWritten = new Map<string, number>();
  let downUntil = 0;

  /** During an outage: the token's last confirmation, if recent enough; revocations made meanwhile apply once the database answers. */
  const duringOutage = (hash: string, now: number): Principal => {
    const c = confirmed.get(hash);
    if (c && now - c.at <= graceMs && (c.expiresAt === null || c.expiresAt > now)) return c.principal;
    throw new DatabaseUnavailableError();
  };

  return {
    async verify(token) {
      if (!token || token.length > 200) return null;
      const hash = hashToken(token);
      const now = Date.now();
      const hit = cache.get(hash);
      if (hit && hit.until > now && (hit.expiresAt === null || hit.expiresAt > now)) return hit.principal;
      if (now < downUntil) return duringOutage(hash, now);
      let row: Awaited<ReturnType<typeof prisma.apiToken.findUnique>>;
      try {
        row = await prisma.apiToken.findUnique({ where: { tokenHash: hash } });
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        downUntil = now + DOWN_RECHECK_MS;
        return duringOutage(hash, now);
      }
      downUntil = 0;
      const principal = row && !row.revokedAt && (!row.expiresAt || row.expiresAt.getTime() > now) ? { tokenId: row.id, name: row.name, role: row.role } : null;
      if (cache.size > MAX_CACHED) cache.clear();
      if (confirmed.size > MAX_CACHED) confirmed.clear();
      cache.set(hash, { principal, until: now + CACHE_MS, expiresAt: row?.expiresAt?.getTime() ?? null });
      if (principal) confirmed.set(hash, { principal, at: now, expiresAt: row?.expiresAt?.getTime() ?? null });
      else confirmed.delete(hash);
      if (principal && (lastUsedWritten.get(principal.tokenId) ?? 0) < now - LAST_USED_EVERY_MS) {
        lastUsedWritten.set(principal.tokenId, now);
        void prisma.apiToken.update({ where: { id: principal.tokenId }, data: { lastUsedAt: new Date(now) } }).catch(() => undefined);
      }
      return principal;
    },
    forget(tokenId) {
      if (!tokenId) {
        cache.clear();
        confirmed.clear();
        return;
      }
      for (const [k, v] of cache) if (v.principal?.tokenId === tokenId) cache.delete(k);
      for (const [k, v] of confirmed) if (v.principal.tokenId === tokenId) confirmed.delete(k);
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
