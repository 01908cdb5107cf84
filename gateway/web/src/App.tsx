/**
 * The console: providers (notices, session) and the route table. Every URL is under `/admin/`
 * (the gateway answers index.html for any extension-less path below it), patterns live in
 * `routes.ts`, and a page is a component that takes its URL parameters as props.
 *
 * Adding a page: a pattern in `routes.ts` (+ a `paths` helper), a component under `pages/<area>/`,
 * one line in `routes` below; a nav entry in `components/Layout.tsx` if it is a section.
 */
import { Fragment, type ReactNode } from 'react';
import { SessionProvider, useSession } from './api/session.tsx';
import { ErrorState } from './components/ErrorState.tsx';
import { Layout } from './components/Layout.tsx';
import { Loading } from './components/Loading.tsx';
import { NoticeProvider } from './components/Toast.tsx';
import { ActivityPage } from './pages/activity/ActivityPage.tsx';
import { ApiKeysPage } from './pages/api-keys/ApiKeysPage.tsx';
import { ExtensionUiPage } from './pages/extension-ui/ExtensionUiPage.tsx';
import { ExtensionsPage } from './pages/extensions/ExtensionsPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { SettingsPage } from './pages/settings/SettingsPage.tsx';
import { SignInPage } from './pages/sign-in/SignInPage.tsx';
import { matchPath, Redirect, useLocation } from './router.tsx';
import { paths, patterns } from './routes.ts';

/** Signed-in pages, first match wins. */
const routes: Array<{ pattern: string; render: (params: Record<string, string>) => ReactNode }> = [
  { pattern: patterns.extensions, render: () => <ExtensionsPage /> },
  { pattern: patterns.settings, render: (p) => <SettingsPage installId={p.installId} /> },
  { pattern: patterns.extensionUi, render: (p) => <ExtensionUiPage installId={p.installId} /> },
  { pattern: patterns.activity, render: (p) => <ActivityPage installId={p.installId} /> },
  { pattern: patterns.apiKeys, render: () => <ApiKeysPage /> },
];

export function App() {
  return (
    <NoticeProvider>
      <SessionProvider>
        <Routes />
      </SessionProvider>
    </NoticeProvider>
  );
}

function Routes() {
  const { pathname, search } = useLocation();
  const session = useSession();
  if (matchPath(patterns.signIn, pathname)) return <SignInPage />;
  if (session.status === 'loading') return <div className="fullpage"><Loading label="Loading the console" /></div>;
  if (session.status === 'error') {
    return <main className="fullpage"><h1 className="visually-hidden">Alga Extensions</h1><ErrorState error={session.error} onRetry={() => void session.reload()} /></main>;
  }
  if (session.status === 'signed-out') return <Redirect to={paths.signIn({ next: `${pathname}${search}` })} />;
  if (pathname === '/admin' || pathname === patterns.home) return <Redirect to={paths.extensions} />;
  for (const route of routes) {
    const params = matchPath(route.pattern, pathname);
    // Keyed by path: another install's page starts from fresh state.
    if (params) return <Layout><Fragment key={pathname}>{route.render(params)}</Fragment></Layout>;
  }
  return <Layout><NotFoundPage /></Layout>;
}
