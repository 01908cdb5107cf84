/**
 * Where a frame's `navigate(path)` request may go: only a page of this console. The bridge has
 * already refused anything but a plain relative path (no scheme, host, `..`, `//`, `\`,
 * encoded separators); here the path is read as a console path (`/extensions` and
 * `/admin/extensions` alike), must stay on this origin under `/admin/`, and must be one of the
 * console's routes (never the sign-in page, whose `?next=` an extension has no business setting).
 *
 * @example
 *   consoleTarget('/extensions?tab=available');   // → '/admin/extensions?tab=available'
 *   consoleTarget('/api/v1/api-keys');             // → null (not a console page)
 */
import { matchPath } from '../../router.tsx';
import { basePath, patterns } from '../../routes.ts';

export function consoleTarget(path: string): string | null {
  if (!path.startsWith('/') || path.startsWith('//')) return null;
  const full = path === basePath || path.startsWith(`${basePath}/`) || path.startsWith(`${basePath}?`) ? path : `${basePath}${path}`;
  let url: URL;
  try {
    url = new URL(full, window.location.origin);
  } catch {
    return null;
  }
  if (url.origin !== window.location.origin || !url.pathname.startsWith(`${basePath}/`)) return null;
  const known = Object.entries(patterns).some(([name, pattern]) => name !== 'signIn' && matchPath(pattern, url.pathname) !== null);
  return known ? `${url.pathname}${url.search}` : null;
}
