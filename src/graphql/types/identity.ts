/**
 * Who is asking (Query.me: clients such as the dashboard hide what the caller's role may not
 * do) and infrapulse's own SSH identity (the public half and the authorized_keys line to add
 * on a host; the private half never leaves the server).
 */
import { sshIdentity } from '../../security/ssh-identity.ts';
import { builder } from '../builder.ts';
import type { Principal } from '../context.ts';
import { UnavailableError } from './errors.ts';
import { RoleEnum } from './tokens.ts';

const CallerRef = builder.objectRef<Principal>('Caller').implement({
  description: 'The API token this request runs as.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The token\'s name.' }),
    role: t.field({ type: RoleEnum, resolve: (p) => p.role }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: CallerRef,
    description: 'The caller\'s token name and role.',
    // The Query root already demands a valid token, so auth is set here.
    resolve: (_root, _args, ctx) => ctx.auth!,
  }),
);

interface PublicIdentity {
  publicKey: string;
  fingerprint: string;
  authorizedKeysLine: string;
}

const SshIdentityRef = builder.objectRef<PublicIdentity>('SshIdentity').implement({
  description: 'infrapulse\'s own SSH key: devices created without a private key, password or credential log in with it.',
  fields: (t) => ({
    publicKey: t.exposeString('publicKey', { description: 'ssh-ed25519 AAAA… infrapulse@<server>' }),
    fingerprint: t.exposeString('fingerprint', { description: 'SHA256:… as ssh-keygen -lf prints it.' }),
    authorizedKeysLine: t.exposeString('authorizedKeysLine', {
      description: 'The line to append to ~/.ssh/authorized_keys of the monitoring account on a host: the key restricted to running commands (no forwarding, no pty).',
    }),
  }),
});

builder.queryField('sshIdentity', (t) =>
  t.field({
    type: SshIdentityRef,
    errors: { types: [UnavailableError] },
    description: 'infrapulse\'s own SSH public key (generated into DATA_DIR at first start).',
    resolve: (_root, _args, ctx) => {
      try {
        const { publicKey, fingerprint, authorizedKeysLine } = sshIdentity(ctx.config.dataDir, ctx.secrets);
        return { publicKey, fingerprint, authorizedKeysLine };
      } catch (e) {
        ctx.log.error({ err: (e as Error).message }, 'infrapulse SSH key unavailable');
        throw new UnavailableError((e as Error).message, 'ssh-identity');
      }
    },
  }),
);
