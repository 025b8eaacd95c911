/**
 * Client-side routes (the server answers each with index.html: src/dashboard APP_ROUTE):
 *   /                 fleet overview
 *   /devices/<id>     one device
 *   /alerts           alerts, rules, silences
 *   /add-host         add a host
 */
import { useEffect, useState } from 'preact/hooks';

export type Route = { page: 'overview' } | { page: 'device'; id: string } | { page: 'alerts' } | { page: 'add-host' } | { page: 'not-found'; path: string };

export function parseRoute(path: string): Route {
  if (path === '/' || path === '') return { page: 'overview' };
  const device = /^\/devices\/([^/]+)\/?$/.exec(path);
  if (device) return { page: 'device', id: decodeURIComponent(device[1]!) };
  if (/^\/alerts\/?$/.test(path)) return { page: 'alerts' };
  if (/^\/add-host\/?$/.test(path)) return { page: 'add-host' };
  return { page: 'not-found', path };
}

export const devicePath = (id: string) => `/devices/${encodeURIComponent(id)}`;

const listeners = new Set<() => void>();

export function navigate(path: string, replace = false): void {
  if (path === location.pathname) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.scrollTo(0, 0);
  for (const l of listeners) l();
}

window.addEventListener('popstate', () => {
  for (const l of listeners) l();
});

export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const l = () => setPath(location.pathname);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return parseRoute(path);
}

/** A link that changes the route without reloading (plain clicks only: new tabs work as usual). */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.pathname);
}
