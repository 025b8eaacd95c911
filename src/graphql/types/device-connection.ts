/**
 * Host keys and connections: trustHostKey (pin a changed key and resume polling) and
 * testDeviceConnection (a dry run that says in plain words what failed).
 */
import { DeviceNotFoundError, InvalidFingerprintError } from '../../poller/index.ts';
import { sshIdentity } from '../../security/ssh-identity.ts';
import { credentialSecret, openRunner, type SshSecret } from '../../transport/connect.ts';
import { TransportError, type CommandRunner } from '../../transport/types.ts';
import { builder } from '../builder.ts';
import { secretFields } from './device-mutations.ts';
import { DeviceRef, TransportEnum } from './devices.ts';
import { checkAndSeal } from './credentials.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import { checkFingerprint, checkHostname, checkPort, checkUsername, Issues } from './validation.ts';

/* ---------------------------------------------------------------- trust a host key */

builder.mutationField('trustHostKey', (t) =>
  t.field({
    type: DeviceRef,
    errors: { types: [ValidationError, NotFoundError] },
    description: 'Pins this host key (SHA256:…, usually Device.presentedHostKey after a HOST_KEY_MISMATCH) and resumes polling.',
    args: { id: t.arg.id({ required: true }), fingerprint: t.arg.string({ required: true }) },
    resolve: async (_root, { id: rawId, fingerprint }, ctx) => {
      const id = String(rawId);
      const issues = new Issues();
      checkFingerprint(issues, ['fingerprint'], fingerprint);
      if (!issues.ok) throw new ValidationError('invalid fingerprint', issues.list);
      const exists = await ctx.db.prisma.device.findUnique({ where: { id }, select: { id: true } });
      if (!exists) throw new NotFoundError('Device', id);
      if (ctx.poller) {
        try {
          await ctx.poller.trustHostKey(id, fingerprint);
        } catch (e) {
          if (e instanceof DeviceNotFoundError) throw new NotFoundError('Device', id);
          if (e instanceof InvalidFingerprintError) throw new ValidationError('invalid fingerprint', [{ path: ['fingerprint'], message: (e as Error).message }]);
          throw e;
        }
      } else {
        await ctx.db.prisma.device.update({ where: { id }, data: { hostKeyFingerprint: fingerprint, pendingHostKey: null } });
      }
      ctx.log.info({ deviceId: id, fingerprint }, 'host key trusted');
      const device = await ctx.db.prisma.device.findUnique({ where: { id } });
      if (!device) throw new NotFoundError('Device', id);
      return device;
    },
  }),
);

/* ---------------------------------------------------------------- connection dry run */

const TestConnectionInput = builder.inputType('TestConnectionInput', {
  description: 'Where and how to connect; nothing is saved. With deviceId, unset fields come from that device (and its stored credential).',
  fields: (t) => ({
    deviceId: t.id({ required: false }),
    transport: t.field({ type: TransportEnum, required: false }),
    hostname: t.string({ required: false }),
    port: t.int({ required: false }),
    username: t.string({ required: false }),
    privateKey: t.string({ required: false, description: secretFields.privateKey }),
    passphrase: t.string({ required: false, description: secretFields.passphrase }),
    password: t.string({ required: false, description: secretFields.password }),
    credentialId: t.id({ required: false }),
    hostKeyFingerprint: t.string({ required: false, description: 'Refuse any other host key.' }),
    timeoutSeconds: t.int({ required: false, defaultValue: 10, description: '1 to 60.' }),
  }),
});

interface ConnectionTest {
  ok: boolean;
  latencyMs: number | null;
  hostKeyFingerprint: string | null;
  hostKeyMatches: boolean | null;
  uname: string | null;
  error: string | null;
  errorKind: string | null;
  /** TransportError.details.code: the socket's errno name when the connect failed on one. */
  code?: string | null;
}

const ConnectionProblemEnum = builder.enumType('ConnectionProblem', {
  description: 'What stopped a connection test, in the words a person fixing it needs.',
  values: {
    DNS: { description: 'The host name could not be resolved.' },
    REFUSED: { description: 'Nothing accepts connections on that port (or a firewall rejects them).' },
    UNREACHABLE: { description: 'No route to the host or its network.' },
    TIMEOUT: { description: 'No answer in time (host down, packets dropped, or a slow handshake).' },
    AUTH: { description: 'The host refused the login (key not in authorized_keys, wrong user or password).' },
    HOST_KEY: { description: 'The host presented another key than the pinned one.' },
    COMMAND: { description: 'Logged in, but `uname -a` failed.' },
    OTHER: { description: 'Anything else: see error.' },
  } as const,
});
type ConnectionProblem = 'DNS' | 'REFUSED' | 'UNREACHABLE' | 'TIMEOUT' | 'AUTH' | 'HOST_KEY' | 'COMMAND' | 'OTHER';

const PROBLEM_BY_CODE: Record<string, ConnectionProblem> = {
  ENOTFOUND: 'DNS',
  EAI_AGAIN: 'DNS',
  EAI_FAIL: 'DNS',
  EAI_NONAME: 'DNS',
  ECONNREFUSED: 'REFUSED',
  EHOSTUNREACH: 'UNREACHABLE',
  ENETUNREACH: 'UNREACHABLE',
  EHOSTDOWN: 'UNREACHABLE',
  ETIMEDOUT: 'TIMEOUT',
  HANDSHAKE_TIMEOUT: 'TIMEOUT',
};

function connectionProblem(t: ConnectionTest): ConnectionProblem | null {
  if (t.ok) return null;
  switch (t.errorKind) {
    case 'AUTH':
    case 'HOST_KEY':
    case 'TIMEOUT':
    case 'COMMAND':
      return t.errorKind;
    case 'CONNECT':
      return (t.code && PROBLEM_BY_CODE[t.code]) || 'OTHER';
    default:
      return 'OTHER';
  }
}

const ConnectionTestRef = builder.objectRef<ConnectionTest>('ConnectionTest').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true, description: 'Connect, handshake, authenticate and run `uname -a`.' }),
    hostKeyFingerprint: t.exposeString('hostKeyFingerprint', { nullable: true, description: 'The key the host presented: check it out of band before pinning it.' }),
    hostKeyMatches: t.exposeBoolean('hostKeyMatches', { nullable: true, description: 'Against the given/pinned fingerprint; null when none was given.' }),
    uname: t.exposeString('uname', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    errorKind: t.exposeString('errorKind', { nullable: true, description: 'CONNECT, AUTH, HOST_KEY, TIMEOUT, CLOSED, OUTPUT_LIMIT or COMMAND.' }),
    problem: t.field({ type: ConnectionProblemEnum, nullable: true, description: 'Why it failed, finer than errorKind; null when ok.', resolve: connectionProblem }),
  }),
});

builder.mutationField('testDeviceConnection', (t) =>
  t.field({
    type: ConnectionTestRef,
    errors: { types: [ValidationError, NotFoundError] },
    description: 'A dry run: connects, runs `uname -a`, reports the host key; saves nothing.',
    args: { input: t.arg({ type: TestConnectionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const base = input.deviceId ? await ctx.db.prisma.device.findUnique({ where: { id: String(input.deviceId) }, include: { credential: true } }) : null;
      if (input.deviceId && !base) throw new NotFoundError('Device', String(input.deviceId));
      const issues = new Issues();
      const transport = input.transport ?? base?.transport ?? 'SSH';
      const hostname = input.hostname ? checkHostname(issues, ['input', 'hostname'], input.hostname) : base?.hostname;
      const port = input.port ?? base?.port ?? 22;
      checkPort(issues, ['input', 'port'], port);
      const username = input.username ?? base?.username ?? null;
      if (input.username) checkUsername(issues, ['input', 'username'], input.username);
      const expected = input.hostKeyFingerprint ?? base?.hostKeyFingerprint ?? null;
      if (input.hostKeyFingerprint) checkFingerprint(issues, ['input', 'hostKeyFingerprint'], input.hostKeyFingerprint);
      const timeoutSeconds = input.timeoutSeconds ?? 10;
      if (timeoutSeconds < 1 || timeoutSeconds > 60) issues.add(['input', 'timeoutSeconds'], 'must be 1 to 60');
      if (transport === 'SSH') {
        if (!hostname) issues.add(['input', 'hostname'], 'required for SSH');
        if (!username) issues.add(['input', 'username'], 'required for SSH');
      }
      checkAndSeal(issues, ['input'], input, ctx.secrets); // validates the key; the sealed copy is discarded
      let secret: SshSecret = {};
      if (input.privateKey) secret = { privateKey: input.privateKey, passphrase: input.passphrase ?? undefined };
      else if (input.password) secret = { password: input.password };
      else {
        const cred = input.credentialId
          ? await ctx.db.prisma.credential.findUnique({ where: { id: String(input.credentialId) } })
          : (base?.credential ?? null);
        if (input.credentialId && !cred) issues.add(['input', 'credentialId'], 'no credential with this id');
        // A password (unlike a key) is sent to the server itself: a stored one only goes to the
        // host it is stored for, unless an ADMIN (who manages credentials anyway) asks.
        const elsewhere = !base || (input.hostname && hostname !== base.hostname) || port !== base.port;
        if (cred?.kind === 'PASSWORD' && elsewhere && ctx.auth?.role !== 'ADMIN') {
          issues.add(['input', 'hostname'], 'a stored password is only sent to its own device\'s host: give the password to test another host');
        }
        if (issues.ok && transport === 'SSH') {
          try {
            secret = credentialSecret({ hostname: hostname!, port }, cred, ctx.secrets, () => sshIdentity(ctx.config.dataDir, ctx.secrets).privateKey);
          } catch (e) {
            return { ok: false, latencyMs: null, hostKeyFingerprint: null, hostKeyMatches: null, uname: null, error: (e as Error).message, errorKind: 'AUTH' };
          }
        }
      }
      if (!issues.ok) throw new ValidationError('invalid connection input', issues.list);

      const timeoutMs = timeoutSeconds * 1000;
      let presented: string | undefined;
      const runner: CommandRunner & { hostKeyFingerprint?: string } = openRunner({ transport, hostname: hostname ?? 'localhost', port, username, hostKeyFingerprint: expected }, () => secret, {
        onHostKey: (fp) => {
          presented = fp;
        },
        readyTimeoutMs: timeoutMs,
        execTimeoutMs: timeoutMs,
        keepaliveIntervalMs: 0,
        maxOutputBytes: 64 * 1024,
      });
      const started = performance.now();
      try {
        const result = await runner.exec('uname -a', { timeoutMs, maxOutputBytes: 64 * 1024 });
        const latencyMs = performance.now() - started;
        const fp = runner.hostKeyFingerprint ?? presented ?? null;
        const base = { latencyMs, hostKeyFingerprint: fp, hostKeyMatches: expected && fp ? expected === fp : null };
        if (result.code !== 0) return { ...base, ok: false, uname: null, error: `uname -a exited with ${String(result.code)}: ${result.stderr.trim().slice(0, 200)}`, errorKind: 'COMMAND' };
        return { ...base, ok: true, uname: result.stdout.trim(), error: null, errorKind: null };
      } catch (e) {
        const te = e instanceof TransportError ? e : null;
        const fp = te?.details.fingerprint ?? runner.hostKeyFingerprint ?? presented ?? null;
        return {
          ok: false,
          latencyMs: null,
          hostKeyFingerprint: fp,
          hostKeyMatches: expected && fp ? expected === fp : null,
          uname: null,
          error: (e as Error).message,
          errorKind: te?.kind ?? 'CONNECT',
          code: te?.details.code ?? null,
        };
      } finally {
        await runner.close().catch(() => undefined);
      }
    },
  }),
);
