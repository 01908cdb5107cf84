/**
 * A tiny history router (no dependency): the console has a handful of routes, one parameter
 * each, and needs nothing a router library adds on top (loaders, nested layouts, data APIs).
 *
 * - Every path is absolute and starts with `/admin/`; build links with `paths` from `routes.ts`.
 * - `<Link to>` renders a real `<a href>` (open in new tab, copy link work) and navigates in-app
 *   on a plain left click.
 * - `navigate(to, { replace })` from anywhere (also outside React, e.g. the API client).
 * - `useLocation()` re-renders on every navigation; `useSearchParam(name)` reads `?name=`;
 *   `setSearchParam(name, value)` replaces one query parameter (tabs, filters).
 * - `matchPath('/admin/extensions/:installId/settings', pathname)` → `{ installId }` or null.
 *
 * @example
 *   <Link to={paths.settings(install.id)}>Settings</Link>
 *   navigate(paths.extensions, { replace: true });
 *   const tab = useSearchParam('tab') ?? 'installed';
 */
import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

const listeners = new Set<() => void>();
const notify = () => { for (const listener of listeners) listener(); };
window.addEventListener('popstate', notify);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => { listeners.delete(listener); };
}

/** `pathname + search`: a string snapshot, so React compares it by value. */
const snapshot = () => `${window.location.pathname}${window.location.search}`;

export interface Location {
  pathname: string;
  search: string;
  searchParams: URLSearchParams;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = new URL(to, window.location.href);
  if (url.origin !== window.location.origin) throw new Error(`navigate() stays on this origin; got ${to}`);
  const next = `${url.pathname}${url.search}${url.hash}`;
  if (next === `${snapshot()}${window.location.hash}`) return;
  if (options.replace) window.history.replaceState(null, '', next);
  else window.history.pushState(null, '', next);
  notify();
}

export function useLocation(): Location {
  const current = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(current, window.location.origin);
  return { pathname: url.pathname, search: url.search, searchParams: url.searchParams };
}

export function useSearchParam(name: string): string | null {
  return useLocation().searchParams.get(name);
}

/** Replaces (not pushes) one query parameter; `null` removes it. */
export function setSearchParam(name: string, value: string | null): void {
  const url = new URL(window.location.href);
  if (value === null) url.searchParams.delete(name);
  else url.searchParams.set(name, value);
  navigate(`${url.pathname}${url.search}`, { replace: true });
}

/** `:name` segments match one non-empty path segment; a trailing slash is ignored. */
export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const want = pattern.replace(/\/+$/, '').split('/');
  const got = pathname.replace(/\/+$/, '').split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) {
      if (!got[i]) return null;
      try { params[want[i].slice(1)] = decodeURIComponent(got[i]); } catch { return null; }
    } else if (want[i] !== got[i]) {
      return null;
    }
  }
  return params;
}

export interface LinkProps extends Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> {
  to: string;
  replace?: boolean;
  children?: ReactNode;
}

export function Link({ to, replace, onClick, ...rest }: LinkProps) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || rest.target) return;
    event.preventDefault();
    navigate(to, { replace });
  };
  return <a href={to} onClick={handle} {...rest} />;
}

/** Renders nothing and replaces the current entry, e.g. `/admin/` → `/admin/extensions`. */
export function Redirect({ to }: { to: string }) {
  useEffect(() => { navigate(to, { replace: true }); }, [to]);
  return null;
}
