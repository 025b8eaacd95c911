import { builder } from '../builder.ts';
import { createApiToken, listApiTokens, revokeApiToken } from '../../tokens.ts';
import { NotFoundError, ValidationError } from './errors.ts';

export const RoleEnum = builder.enumType('Role', {
  values: {
    VIEWER: { description: 'Queries and subscriptions.' },
    OPERATOR: { description: 'VIEWER, plus devices, polls and alerts.' },
    ADMIN: { description: 'OPERATOR, plus tokens and credentials.' },
  } as const,
});

interface ApiTokenShape {
  id: string;
  name: string;
  role: 'VIEWER' | 'OPERATOR' | 'ADMIN';
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt?: Date | null;
  revokedAt?: Date | null;
}

export const ApiTokenRef = builder.objectRef<ApiTokenShape>('ApiToken').implement({
  description: 'An API token as stored: never the token itself.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    role: t.field({ type: RoleEnum, resolve: (x) => x.role }),
    createdAt: t.field({ type: 'DateTime', resolve: (x) => x.createdAt }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (x) => x.expiresAt }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, resolve: (x) => x.lastUsedAt ?? null }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (x) => x.revokedAt ?? null }),
  }),
});

const CreatedApiToken = builder.objectRef<{ token: string; apiToken: ApiTokenShape }>('CreatedApiToken').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Shown once: store it now; only its SHA-256 is kept.' }),
    apiToken: t.field({ type: ApiTokenRef, resolve: (x) => x.apiToken }),
  }),
});

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    role: t.field({ type: RoleEnum, required: true }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
  }),
});

builder.mutationField('createApiToken', (t) =>
  t.field({
    type: CreatedApiToken,
    authScopes: { admin: true },
    errors: { types: [ValidationError] },
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const name = input.name.trim();
      const issues = [];
      if (name.length < 1 || name.length > 100) issues.push({ path: ['input', 'name'], message: 'must be 1 to 100 characters' });
      // PostgreSQL refuses NUL in text, and control characters have no business in a label shown in logs.
      else if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) issues.push({ path: ['input', 'name'], message: 'must not contain control characters' });
      if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) issues.push({ path: ['input', 'expiresAt'], message: 'must be in the future' });
      if (issues.length) throw new ValidationError('invalid token input', issues);
      return createApiToken(ctx.db.prisma, { name, role: input.role, expiresAt: input.expiresAt ?? null });
    },
  }),
);

builder.queryField('apiTokens', (t) =>
  t.field({
    type: [ApiTokenRef],
    authScopes: { admin: true },
    description: 'Every API token, newest first (never the tokens themselves).',
    args: { includeRevoked: t.arg.boolean({ required: false, defaultValue: false }) },
    resolve: (_root, args, ctx) => listApiTokens(ctx.db.prisma, args.includeRevoked ?? false),
  }),
);

builder.mutationField('revokeApiToken', (t) =>
  t.field({
    type: ApiTokenRef,
    authScopes: { admin: true },
    description: 'Revokes a token at once: its requests fail and its open subscriptions close within seconds.',
    errors: { types: [NotFoundError] },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = String(args.id);
      // Token ids are UUIDs: anything else is unknown without a database round trip.
      const row = /^[0-9a-f-]{36}$/i.test(id) ? await revokeApiToken(ctx.db.prisma, id) : null;
      if (!row) throw new NotFoundError('ApiToken', id.slice(0, 100));
      // The server forgets cached verdicts and closes the token's connections on this event
      // (every instance, when the bus runs over Redis).
      ctx.events.publish('tokenRevoked', { tokenId: row.id });
      ctx.log.info({ tokenId: row.id, by: ctx.auth?.tokenId }, 'api token revoked');
      return row;
    },
  }),
);
