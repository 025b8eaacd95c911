/**
 * The shell: sign-in until a token is accepted, then the header and the routed page. A token
 * the server stops accepting (revoked, expired) ends the session with a message.
 */
import type { ComponentType } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi, whoAmI, type AuthFailure, type Connection } from './api/client.ts';
import { LIVE_ALERTS, OPEN_ALERTS, type LiveAlerts, type Me, type OpenAlertsResult } from './api/documents.ts';
import { allPages } from './api/paging.ts';
import { forgetToken, storedToken, storeToken } from './auth.ts';
import { Link, Notice } from './components/common.tsx';
import { FleetStore, runFleet } from './fleet.ts';
import { useLive } from './live.ts';
import { Overview } from './pages/overview.tsx';
import { useRoute } from './router.ts';
import { SessionContext, useSession, type Session } from './session.ts';

const FAILURE_TEXT: Record<AuthFailure, string> = {
  refused: 'Your token is no longer accepted (revoked or expired). Sign in again.',
  'rate-limited': 'Too many failed sign-ins from this address. Wait a minute, then sign in again.',
};

function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (token: string, me: Me, remember: boolean) => void }) {
  const [error, setError] = useState<string | null>(notice);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const token = String(f.get('token') ?? '').trim();
    if (!token) return setError('Paste an API token first.');
    setBusy(true);
    setError(null);
    const r = await whoAmI(token);
    setBusy(false);
    if (r.ok) onSignedIn(token, r.me, f.get('remember') === 'on');
    else setError(r.message);
  }

  return (
    <main class="signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>
          <span class="logo" aria-hidden="true" />
          infrapulse
        </h1>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} autofocus />
        <label class="check">
          <input type="checkbox" name="remember" /> Remember me on this browser
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && <Notice kind="error">{error}</Notice>}
        <p class="hint">
          The admin token is in <code>.infrapulse/admin-token</code> (in <code>DATA_DIR</code>) on the server. Create more with <code>npx infrapulse token create --name NAME --role VIEWER</code>.
        </p>
      </form>
    </main>
  );
}

/** FIRING alerts, for the header's badge. */
function useFiringCount(): number {
  const { api } = useSession();
  const { state } = useLive<ReadonlySet<string>>(
    api,
    [],
    () => allPages(api, OPEN_ALERTS, (r: OpenAlertsResult) => r.alerts).then((alerts) => new Set(alerts.filter((a) => a.state === 'FIRING').map((a) => a.id))),
    (apply) => [
      api.subscribe<LiveAlerts>(LIVE_ALERTS, {}, ({ alertChanged: e }) =>
        apply((firing) => {
          const next = new Set(firing);
          if (e.state === 'FIRING') next.add(e.alertId);
          else next.delete(e.alertId);
          return next;
        }),
      ),
    ],
  );
  return state?.size ?? 0;
}

/**
 * A page whose code loads on first use: the overview, which every visit starts with, does not
 * wait for the charting library and the forms.
 */
function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let loading: Promise<void> | null = null;
  let failed: string | null = null;
  return function LazyPage(props: P) {
    const [, setReady] = useState(false);
    if (loaded) {
      const Page = loaded;
      return <Page {...props} />;
    }
    loading ??= load().then(
      (c) => void (loaded = c),
      (e: Error) => void (failed = e.message),
    );
    void loading.then(() => setReady(true));
    return failed ? <Notice kind="error">This page could not be loaded ({failed}): reload to try again.</Notice> : <Notice>Loading…</Notice>;
  };
}

const DevicePage = lazyPage(() => import('./pages/device.tsx').then((m) => m.DevicePage));
const AlertsPage = lazyPage(() => import('./pages/alerts.tsx').then((m) => m.AlertsPage));
const AddHostPage = lazyPage(() => import('./pages/add-host.tsx').then((m) => m.AddHostPage));

const CONNECTION_TEXT: Record<Connection, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' };

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const session = useSession();
  const route = useRoute();
  const firing = useFiringCount();
  const [connection, setConnection] = useState<Connection>('connecting');
  useEffect(() => session.api.onConnection(setConnection), []);

  let page;
  if (route.page === 'overview') page = <Overview />;
  else if (route.page === 'device') page = <DevicePage key={route.id} id={route.id} />;
  else if (route.page === 'alerts') page = <AlertsPage />;
  else if (route.page === 'add-host') page = <AddHostPage />;
  else
    page = (
      <section>
        <h1>Not found</h1>
        <p>
          Nothing lives at <code>{route.path}</code>. <Link href="/">Back to the fleet</Link>
        </p>
      </section>
    );

  return (
    <>
      <header class="top">
        <Link href="/" class="brand">
          <span class="logo" aria-hidden="true" />
          infrapulse
        </Link>
        <nav aria-label="Main">
          <Link href="/" class={route.page === 'overview' ? 'current' : ''}>
            Fleet
          </Link>
          <Link href="/alerts" class={route.page === 'alerts' ? 'current' : ''}>
            Alerts{firing > 0 && <span class="pill">{firing}</span>}
          </Link>
          {session.canEdit && (
            <Link href="/add-host" class={route.page === 'add-host' ? 'current' : ''}>
              Add host
            </Link>
          )}
        </nav>
        <span class={`conn ${connection}`} role="status">
          {CONNECTION_TEXT[connection]}
        </span>
        <span class="who">
          {session.me.name} · {session.me.role}
        </span>
        <button type="button" class="signout" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main class="page">{page}</main>
    </>
  );
}

export function App() {
  // A stored token is used at once: the fleet loads while `me` is asked, not after.
  const [token, setToken] = useState<string | null>(() => storedToken());
  const [me, setMe] = useState<Me | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const end = (message: string | null) => {
    forgetToken();
    setNotice(message);
    setMe(null);
    setToken(null);
  };

  const base = useMemo(() => {
    if (!token) return null;
    const api = createApi(token, (why) => end(FAILURE_TEXT[why]));
    const fleet = new FleetStore();
    const stopFleet = runFleet(api, fleet);
    return {
      api,
      fleet,
      stop: () => {
        stopFleet();
        api.close();
      },
    };
  }, [token]);
  useEffect(() => () => base?.stop(), [base]);

  useEffect(() => {
    if (!token || me) return;
    let current = true;
    void whoAmI(token).then((r) => {
      if (!current) return;
      if (r.ok) setMe(r.me);
      else end(r.message);
    });
    return () => {
      current = false;
    };
  }, [token]);

  const session = useMemo<Session | null>(() => (base && me ? { api: base.api, fleet: base.fleet, me, canEdit: me.role !== 'VIEWER' } : null), [base, me]);

  if (!token)
    return (
      <SignIn
        notice={notice}
        onSignedIn={(t, who, remember) => {
          storeToken(t, remember);
          setNotice(null);
          setMe(who);
          setToken(t);
        }}
      />
    );
  if (!session) return <Notice>Signing in…</Notice>;
  return (
    <SessionContext.Provider value={session}>
      <Shell onSignOut={() => end(null)} />
    </SessionContext.Provider>
  );
}
