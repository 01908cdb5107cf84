/**
 * Every URL of the console in one place: pages link with these, never with string literals,
 * so a route can move without a hunt. `App.tsx` maps the same patterns to pages.
 *
 * @example
 *   <Link to={paths.activity(install.id)}>Activity</Link>
 */
export const basePath = '/admin';

export const patterns = {
  signIn: '/admin/sign-in',
  home: '/admin/',
  extensions: '/admin/extensions',
  settings: '/admin/extensions/:installId/settings',
  extensionUi: '/admin/extensions/:installId/ui',
  activity: '/admin/extensions/:installId/activity',
  apiKeys: '/admin/api-keys',
} as const;

const id = (installId: string) => encodeURIComponent(installId);

export const paths = {
  home: patterns.home,
  extensions: patterns.extensions,
  /** `tab`: which tab of the extensions page to open. */
  extensionsTab: (tab: 'installed' | 'available') => `${patterns.extensions}?tab=${tab}`,
  settings: (installId: string) => `/admin/extensions/${id(installId)}/settings`,
  extensionUi: (installId: string) => `/admin/extensions/${id(installId)}/ui`,
  activity: (installId: string) => `/admin/extensions/${id(installId)}/activity`,
  apiKeys: patterns.apiKeys,
  /** `next`: where to go after signing in; `expired`: show "Your session expired". */
  signIn: (options: { next?: string; expired?: boolean } = {}) => {
    const query = new URLSearchParams();
    if (options.expired) query.set('expired', '1');
    if (options.next && options.next !== patterns.signIn) query.set('next', options.next);
    const qs = query.toString();
    return `${patterns.signIn}${qs ? `?${qs}` : ''}`;
  },
};

/** Only an in-console path may be a `next` target (no open redirect to another site). */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/admin/') || next.startsWith('//') || next.includes('\\') || next.startsWith(patterns.signIn)) return paths.extensions;
  return next;
}
