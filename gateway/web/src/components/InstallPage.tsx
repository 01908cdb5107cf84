/**
 * The frame of every page about one install (`/admin/extensions/:installId/…`): loads the install
 * (`GET /api/v1/installs/:id`), shows loading / error / not-found, and renders the `Page` with the
 * extension's name above the title, a back link to the list, and the install's sub-navigation
 * (Settings: editable for admins, read-only for others; UI when it has one; Activity). The children get the loaded install.
 *
 * @example
 *   export function ActivityPage({ installId }: { installId: string }) {
 *     return <InstallPage installId={installId} title="Activity">{(install) => <Executions install={install} />}</InstallPage>;
 *   }
 */
import type { ReactNode } from 'react';
import { useApi } from '../api/use-api.ts';
import { useSession } from '../api/session.tsx';
import type { Install } from '../api/types.ts';
import { Link, useLocation } from '../router.tsx';
import { paths } from '../routes.ts';
import { Badge, statusTone } from './Badge.tsx';
import { ErrorState } from './ErrorState.tsx';
import { Loading } from './Loading.tsx';
import { Page } from './Page.tsx';

export interface InstallPageProps {
  installId: string;
  title: string;
  description?: ReactNode;
  actions?: (install: Install) => ReactNode;
  children: (install: Install, reload: () => void) => ReactNode;
}

export function InstallPage({ installId, title, description, actions, children }: InstallPageProps) {
  const install = useApi<Install>(`/api/v1/installs/${encodeURIComponent(installId)}`);
  const back = { to: paths.extensions, label: 'Extensions' };
  if (install.error) return <Page title={title} back={back}><ErrorState error={install.error} what="this install" onRetry={install.reload} /></Page>;
  if (!install.data) return <Page title={title} back={back}><Loading label="Loading the install" /></Page>;
  const i = install.data;
  return (
    <Page
      title={title}
      back={back}
      eyebrow={<><span className="eyebrow-name">{i.extensionName}</span> <span className="mono">{i.version}</span> <Badge tone={statusTone(i.status)}>{i.status === 'enabled' ? 'Enabled' : 'Disabled'}</Badge></>}
      description={description}
      actions={actions?.(i)}
    >
      <InstallNav install={i} />
      {children(i, install.reload)}
    </Page>
  );
}

export function InstallNav({ install }: { install: Install }) {
  const { hasRole } = useSession();
  const { pathname } = useLocation();
  const items = [
    // Everyone with a role sees the settings: admins edit them, others get the read-only view.
    ...(hasRole('extension:read') ? [{ label: 'Settings', to: paths.settings(install.id) }] : []),
    ...(install.uiUrl ? [{ label: 'UI', to: paths.extensionUi(install.id) }] : []),
    { label: 'Activity', to: paths.activity(install.id) },
  ];
  return (
    <nav className="subnav" aria-label={`${install.extensionName} pages`}>
      {items.map((item) => (
        <Link key={item.to} to={item.to} className={pathname === item.to ? 'subnav-link active' : 'subnav-link'} aria-current={pathname === item.to ? 'page' : undefined}>
          {item.label}
        </Link>
      ))}
    </nav>
  );
}
