/**
 * Adding a host: show the authorized_keys line for infrapulse's own key (no private key has to
 * be pasted), test the connection first (testDeviceConnection) and say in plain words what
 * failed, then create the device pinned to the host key the test saw.
 */
import { useEffect, useState } from 'preact/hooks';
import {
  CREATE_DEVICE,
  SSH_IDENTITY,
  TEST_CONNECTION,
  type ConnectionTest,
  type CreateDeviceResult,
  type HostInput,
  type SshIdentity,
  type SshIdentityResult,
  type TestConnectionResult,
} from '../api/documents.ts';
import { Notice, errorText, isApiError } from '../components/common.tsx';
import { devicePath, navigate } from '../router.ts';
import { useSession } from '../session.ts';

type Login = 'key' | 'private-key' | 'password';
const TIMEOUT_SECONDS = 10;

/** What went wrong, for the person who has to fix it. */
export function explain(t: ConnectionTest, host: HostInput): string {
  const where = `${host.hostname}:${host.port}`;
  switch (t.problem) {
    case 'DNS':
      return `The name "${host.hostname}" could not be found (DNS). Check the spelling, or use the host's IP address.`;
    case 'REFUSED':
      return `${where} refused the connection: nothing listens for SSH on port ${host.port}, or a firewall rejects it. Check that sshd runs and the port is right.`;
    case 'UNREACHABLE':
      return `${host.hostname} cannot be reached: there is no route to it or its network. Check the address and the network in between.`;
    case 'TIMEOUT':
      return `${where} did not answer within ${TIMEOUT_SECONDS} s: the host may be down, or a firewall drops the packets.`;
    case 'AUTH':
      return `${host.hostname} refused the login as "${host.username}". Add the key line above to ~${host.username}/.ssh/authorized_keys on the host (or check the user name, password or key).`;
    case 'HOST_KEY':
      return `The host presented a different host key than expected${t.hostKeyFingerprint ? ` (${t.hostKeyFingerprint})` : ''}. Do not continue unless you know why it changed.`;
    case 'COMMAND':
      return `Logged in, but running "uname -a" failed: ${t.error ?? 'no detail'}.`;
    default:
      return `The connection failed: ${t.error ?? 'no detail'}.`;
  }
}

function KeyLine({ identity }: { identity: SshIdentity | null }) {
  const [from, setFrom] = useState('');
  const [copied, setCopied] = useState(false);
  if (!identity) return <Notice>Loading infrapulse's key…</Notice>;
  const line = from.trim() ? `from="${from.trim()}",${identity.authorizedKeysLine}` : identity.authorizedKeysLine;
  return (
    <section class="card" aria-label="infrapulse's SSH key">
      <h2>1. Let infrapulse log in</h2>
      <p>
        On the host, as the account infrapulse should use (an unprivileged one, see SECURITY.md), add this line to <code>~/.ssh/authorized_keys</code>. It only lets infrapulse run
        commands: no forwarding, no terminal.
      </p>
      <pre class="keyline" aria-label="authorized_keys line">{line}</pre>
      <div class="buttons">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(line).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <label>
          Only from address (optional) <input value={from} onInput={(e) => setFrom(e.currentTarget.value)} placeholder="the infrapulse server's IP" />
        </label>
      </div>
      <p class="muted">
        Key fingerprint <code>{identity.fingerprint}</code>
      </p>
    </section>
  );
}

function hostFrom(f: FormData, login: Login): HostInput & { name: string; tags: string[] } {
  const s = (k: string) => String(f.get(k) ?? '').trim();
  const host: HostInput & { name: string; tags: string[] } = {
    name: s('name') || s('hostname'),
    hostname: s('hostname'),
    port: Number(s('port') || 22),
    username: s('username'),
    tags: s('tags')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  };
  if (login === 'private-key') Object.assign(host, { privateKey: String(f.get('privateKey') ?? ''), passphrase: s('passphrase') || undefined });
  if (login === 'password') host.password = String(f.get('password') ?? '');
  return host;
}

/** Where and how to log in; the login choice decides which secret fields show. */
function HostFields({ login, setLogin }: { login: Login; setLogin: (l: Login) => void }) {
  return (
    <>
      <label>
        Host name or address <input name="hostname" required autocomplete="off" />
      </label>
      <label>
        Port <input name="port" type="number" min={1} max={65535} defaultValue="22" />
      </label>
      <label>
        User name <input name="username" required autocomplete="off" defaultValue="infrapulse" />
      </label>
      <fieldset>
        <legend>Log in with</legend>
        {(
          [
            ['key', "infrapulse's key (the line above)"],
            ['private-key', 'a private key'],
            ['password', 'a password'],
          ] as const
        ).map(([value, label]) => (
          <label class="check" key={value}>
            <input type="radio" name="login" value={value} checked={login === value} onChange={() => setLogin(value)} /> {label}
          </label>
        ))}
      </fieldset>
      {login === 'private-key' && (
        <>
          <label>
            Private key <textarea name="privateKey" rows={4} required placeholder="-----BEGIN OPENSSH PRIVATE KEY-----" />
          </label>
          <label>
            Passphrase <input name="passphrase" type="password" autocomplete="off" />
          </label>
  
    </>
    )}
    {login === 'password' && (
      <label>
        Password <input name="password" type="password" required autocomplete="off" />
      </label>
    )}
    <label>
      Name in infrapulse <input name="name" placeholder="default: the host name" />
    </label>
    <label>
      Tags <input name="tags" placeholder="comma separated" />
    </label>
    </>
  );
}

export function AddHostPage() {
  const { api, canEdit } = useSession();
  const [identity, setIdentity] = useState<SshIdentity | null>(null);
  const [login, setLogin] = useState<Login>('key');
  const [tested, setTested] = useState<{ test: ConnectionTest; host: HostInput & { name: string; tags: string[] } } | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.query<SshIdentityResult>(SSH_IDENTITY).then(
      (r) => (isApiError(r.sshIdentity) ? setMessage({ kind: 'error', text: errorText(r.sshIdentity) }) : setIdentity(r.sshIdentity)),
      (e: Error) => setMessage({ kind: 'error', text: e.message }),
    );
  }, []);

  if (!canEdit) return <Notice kind="error">Adding hosts needs an OPERATOR or ADMIN token.</Notice>;

  async function test(e: Event) {
    e.preventDefault();
    const host = hostFrom(new FormData(e.currentTarget as HTMLFormElement), login);
    const { name: _name, tags: _tags, ...connection } = host;
    setBusy(true);
    setTested(null);
    setMessage({ kind: 'ok', text: `Connecting to ${host.hostname}:${host.port}…` });
    try {
      const r = (await api.mutate<TestConnectionResult>(TEST_CONNECTION, { input: { ...connection, transport: 'SSH', timeoutSeconds: TIMEOUT_SECONDS } })).testDeviceConnection;
      if (isApiError(r)) return setMessage({ kind: 'error', text: errorText(r) });
      setTested({ test: r, host });
      setMessage(
        r.ok
          ? { kind: 'ok', text: `Connected in ${(r.latencyMs ?? 0).toFixed(0)} ms: ${r.uname ?? ''}. The host key is ${r.hostKeyFingerprint ?? 'unknown'}: it will be pinned.` }
          : { kind: 'error', text: explain(r, host) },
      );
    } catch (err) {
      setMessage({ kind: 'error', text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  }

  async function add() {
    if (!tested?.test.ok) return;
    const { host, test: t } = tested;
    setBusy(true);
    try {
      const r = (await api.mutate<CreateDeviceResult>(CREATE_DEVICE, { input: { ...host, transport: 'SSH', hostKeyFingerprint: t.hostKeyFingerprint } })).createDevice;
      if (isApiError(r)) setMessage({ kind: 'error', text: errorText(r) });
      else navigate(devicePath(r.id));
    } catch (err) {
      setMessage({ kind: 'error', text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="add-host">
      <h1>Add a host</h1>
      <KeyLine identity={identity} />
      <section class="card" aria-label="Connection">
        <h2>2. Test the connection</h2>
        <form class="form" onSubmit={test} onInput={() => setTested(null)} aria-label="Add a host">
          <HostFields login={login} setLogin={setLogin} />
          <div class="buttons">
            <button type="submit" disabled={busy}>
              Test connection
            </button>
            <button type="button" disabled={busy || !tested?.test.ok} onClick={add}>
              Add host
            </button>
          </div>
        </form>
        {message && <Notice kind={message.kind}>{message.text}</Notice>}
      </section>
    </section>
  );
}
