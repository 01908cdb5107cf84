/**
 * The signed-in shell around every page but sign-in: a skip link, the header (product, tenant,
 * the signed-in key and role, sign out), the left navigation and `<main id="main">`. Below
 * 768 px the navigation folds behind a "Menu" button. After an in-app navigation focus moves to
 * the new page's `<h1>` (see `Page`), as a full page load would announce it.
 *
 * Navigation entries are `navItems`; a page that belongs to a section (an install's settings
 * belong to Extensions) is marked current by its path prefix.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { roleLabel, useMe, useSession } from '../api/session.tsx';
import { Link, useLocation } from '../router.tsx';
import { paths } from '../routes.ts';
import { productName } from './Page.tsx';
import { useNotify } from './Toast.tsx';
import { describeError } from './ErrorState.tsx';

export const navItems = [
  { label: 'Extensions', to: paths.extensions, section: '/admin/extensions' },
  { label: 'API keys', to: paths.apiKeys, section: '/admin/api-keys' },
];

export function Layout({ children }: { children: ReactNode }) {
  const me = useMe();
  const { signOut } = useSession();
  const notify = useNotify();
  const { pathname } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const firstRender = useRef(true);

  useEffect(() => {
    setMenuOpen(false);
    if (firstRender.current) { firstRender.current = false; return; }
    // After the new page rendered its heading.
    requestAnimationFrame(() => document.getElementById('page-title')?.focus());
  }, [pathname]);

  const onSignOut = async () => {
    setSigningOut(true);
    try {
      await signOut();
    } catch (err) {
      notify({ tone: 'error', message: `Could not sign out: ${describeError(err).body}` });
      setSigningOut(false);
    }
  };

  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <button
          type="button"
          className="menu-button"
          aria-expanded={menuOpen}
          aria-controls="primary-nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          <span className="menu-icon" aria-hidden="true" />
          <span className="visually-hidden">Menu</span>
        </button>
        <Link to={paths.extensions} className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">{productName}</span>
        </Link>
        <div className="topbar-account">
          <div className="account" title={`Tenant ${me.tenantId}`}>
            <span className="account-tenant">{me.tenantName || me.tenantId}</span>
            <span className="account-key">
              <span className="visually-hidden">Signed in with key </span>{me.keyName || 'API key'}
              <span className="role-pill"><span className="visually-hidden">role </span>{roleLabel(me.roles)}</span>
            </span>
          </div>
          <button type="button" className="button button-ghost button-sm" onClick={() => void onSignOut()} disabled={signingOut}>
            Sign out
          </button>
        </div>
      </header>
      <div className="shell-body">
        <nav id="primary-nav" className={menuOpen ? 'sidenav open' : 'sidenav'} aria-label="Main">
          <ul>
            {navItems.map((item) => {
              const current = pathname === item.to || pathname.startsWith(`${item.section}/`);
              return (
                <li key={item.to}>
                  <Link to={item.to} className={current ? 'nav-link active' : 'nav-link'} aria-current={current ? 'page' : undefined}>
                    {item.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <main id="main" className="main" tabIndex={-1}>
          <div className="main-inner">{children}</div>
        </main>
      </div>
    </div>
  );
}
