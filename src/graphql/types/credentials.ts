/**
 * SSH credentials: write-only secrets. A private key (with its passphrase) or a password is
 * sealed with ctx.secrets (AES-256-GCM) the moment it arrives; no field ever returns it, not
 * even encrypted. Shared credentials are ADMIN's; createDevice seals a device's own.
 */
import { isUniqueViolation, type PrismaClient } from '../../db/index.ts';
import type { SecretBox } from '../../db/secrets.ts';
import { builder } from '../builder.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { checkName, checkPrivateKey, checkSecret, Issues } from './validation.ts';

export const CredentialKindEnum = builder.enumType('CredentialKind', {
  values: { PRIVATE_KEY: { description: 'An SSH private key, optionally with a passphrase.' }, PASSWORD: { description: 'An SSH password.' } } as const,
});

export interface CredentialView {
  id: string;
  name: string;
  kind: 'PRIVATE_KEY' | 'PASSWORD';
  createdAt: Date;
  hasPassphrase: boolean;
  deviceCount: number;
}

/** The only columns the API reads: never the sealed secret itself. */
export const credentialViewSelect = {
  id: true,
  name: true,
  kind: true,
  createdAt: true,
  encryptedPassphrase: true,
  _count: { select: { devices: true } },
} as const;

type ViewRow = { id: string; name: string; kind: 'PRIVATE_KEY' | 'PASSWORD'; createdAt: Date; encryptedPassphrase: Uint8Array | null; _count: { devices: number } };

export const toCredentialView = (c: ViewRow): CredentialView => ({
  id: c.id,
  name: c.name,
  kind: c.kind,
  createdAt: c.createdAt,
  hasPassphrase: c.encryptedPassphrase !== null,
  deviceCount: c._count.devices,
});

export const CredentialRef = builder.objectRef<CredentialView>('Credential').implement({
  description: 'A stored SSH credential. Its secret is write-only: no field returns it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.field({ type: CredentialKindEnum, resolve: (c) => c.kind }),
    hasPassphrase: t.exposeBoolean('hasPassphrase'),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    deviceCount: t.exposeInt('deviceCount', { description: 'Devices that log in with it.' }),
  }),
});

export interface SecretInput {
  privateKey?: string | null;
  passphrase?: string | null;
  password?: string | null;
}

export interface SealedSecret {
  kind: 'PRIVATE_KEY' | 'PASSWORD';
  encryptedSecret: Uint8Array<ArrayBuffer>;
  encryptedPassphrase: Uint8Array<ArrayBuffer> | null;
}

/** True when the input carries a secret at all. */
export const hasSecret = (s: SecretInput): boolean => Boolean(s.privateKey || s.password);

/** Checks the secret fields (under `path`) and, when they are valid, seals them. */
export function checkAndSeal(issues: Issues, path: string[], s: SecretInput, secrets: SecretBox): SealedSecret | null {
  if (s.privateKey && s.password) {
    issues.add([...path, 'password'], 'give a private key or a password, not both');
    return null;
  }
  if (s.passphrase && !s.privateKey) issues.add([...path, 'passphrase'], 'a passphrase needs a private key');
  if (s.privateKey) {
    checkPrivateKey(issues, [...path, 'privateKey'], s.privateKey, s.passphrase, [...path, 'passphrase']);
    if (s.passphrase) checkSecret(issues, [...path, 'passphrase'], s.passphrase);
  } else if (s.password) {
    checkSecret(issues, [...path, 'password'], s.password);
  } else {
    return null;
  }
  if (!issues.ok) return null;
  const seal = (v: string) => new Uint8Array(secrets.encrypt(v));
  return s.privateKey
    ? { kind: 'PRIVATE_KEY', encryptedSecret: seal(s.privateKey), encryptedPassphrase: s.passphrase ? seal(s.passphrase) : null }
    : { kind: 'PASSWORD', encryptedSecret: seal(s.password!), encryptedPassphrase: null };
}


builder.queryField('credentials', (t) =>
  t.field({
    type: [CredentialRef],
    authScopes: { operator: true },
    description: 'Stored credentials (names and kinds only), for createDevice(input: { credentialId }).',
    resolve: async (_root, _args, ctx) =>
      (await ctx.db.prisma.credential.findMany({ select: credentialViewSelect, orderBy: { name: 'asc' } })).map(toCredentialView),
  }),
);

const CreateCredentialInput = builder.inputType('CreateCredentialInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    privateKey: t.string({ required: false, description: 'OpenSSH or PEM private key; write-only.' }),
    passphrase: t.string({ required: false, description: 'The private key\'s passphrase; write-only.' }),
    password: t.string({ required: false, description: 'SSH password; write-only.' }),
  }),
});

builder.mutationField('createCredential', (t) =>
  t.field({
    type: CredentialRef,
    authScopes: { admin: true },
    errors: { types: [ValidationError, ConflictError] },
    args: { input: t.arg({ type: CreateCredentialInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const issues = new Issues();
      const name = checkName(issues, ['input', 'name'], input.name);
      if (!hasSecret(input)) issues.add(['input', 'privateKey'], 'give a private key or a password');
      const sealed = checkAndSeal(issues, ['input'], input, ctx.secrets);
      if (!issues.ok || !sealed) throw new ValidationError('invalid credential input', issues.list);
      try {
        const created = await ctx.db.prisma.credential.create({ data: { name, ...sealed }, select: credentialViewSelect });
        ctx.log.info({ credentialId: created.id, kind: created.kind }, 'credential created');
        return toCredentialView(created);
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`a credential named "${name}" exists`, 'name');
        throw e;
      }
    },
  }),
);

const DeletedCredential = builder.simpleObject('DeletedCredential', { fields: (t) => ({ id: t.id() }) });

async function deleteCredential(prisma: PrismaClient, id: string, force: boolean): Promise<{ id: string }> {
  const found = await prisma.credential.findUnique({ where: { id }, select: { id: true, _count: { select: { devices: true } } } });
  if (!found) throw new NotFoundError('Credential', id);
  if (found._count.devices > 0 && !force) {
    throw new ConflictError(`${found._count.devices} device(s) log in with this credential: reassign them or pass force: true`, 'id');
  }
  await prisma.credential.delete({ where: { id } });
  return { id };
}

builder.mutationField('deleteCredential', (t) =>
  t.field({
    type: DeletedCredential,
    authScopes: { admin: true },
    errors: { types: [NotFoundError, ConflictError] },
    args: {
      id: t.arg.id({ required: true }),
      force: t.arg.boolean({ required: false, defaultValue: false, description: 'Delete even if devices use it (they lose their login).' }),
    },
    resolve: (_root, { id, force }, ctx) => deleteCredential(ctx.db.prisma, String(id), force ?? false),
  }),
);
