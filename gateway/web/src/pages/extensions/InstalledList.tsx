/**
 * The Installed tab: one row per install with its entry points (Settings for admins, its UI when
 * it has one, labelled by `manifest.ui.menu.label`, and Activity), version (with an available
 * update or a version waiting for consent), the enabled switch (admins; a badge for others), the
 * last hour of requests and errors, the last error, and the admin's Upgrade / Uninstall.
 */
import { useSession } from '../../api/session.tsx';
import { Badge, statusTone } from '../../components/Badge.tsx';
import { Button, buttonClass } from '../../components/Button.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { DataTable, formatDate, relativeTime } from '../../components/Table.tsx';
import { Link } from '../../router.tsx';
import { paths } from '../../routes.ts';
import { EnabledSwitch } from './EnabledSwitch.tsx';
import type { ListedInstall, RegistryEntry } from './types.ts';
import { newerVersions, updateFor } from './versions.ts';

export interface InstalledListProps {
  installs: ListedInstall[];
  /** By extension id; undefined while the registry loads (or when it failed). */
  registry: Map<string, RegistryEntry> | undefined;
  /** The install whose status is being changed. */
  toggling: string | null;
  onToggle: (install: ListedInstall) => void;
  onUpgrade: (install: ListedInstall, extension: RegistryEntry) => void;
  onUninstall: (install: ListedInstall) => void;
}

export function InstalledList({ installs, registry, toggling, onToggle, onUpgrade, onUninstall }: InstalledListProps) {
  const { hasRole } = useSession();
  const admin = hasRole('extension:admin');
  if (installs.length === 0) {
    return (
      <EmptyState title="No extensions installed" action={<Link to={paths.extensionsTab('available')} className={buttonClass('primary')}>Browse available extensions</Link>}>
        Extensions add features to your tenant. Pick one from the registry to install it; you review what it asks for before anything changes.
      </EmptyState>
    );
  }
  return (
    <DataTable
      caption="Installed extensions"
      rows={installs}
      rowKey={(i) => i.id}
      columns={[
        { header: 'Extension', render: (i) => (
          <div className="cell-title">
            <span className="cell-primary extension-name"><DottedName name={i.extensionName} /></span>
            <span className="cell-secondary">by {i.publisher}</span>
            <EntryPoints install={i} admin={admin} />
          </div>
        ) },
        { header: 'Version', render: (i) => <VersionCell install={i} extension={registry?.get(i.extensionId)} /> },
        { header: 'Status', render: (i) => (
          admin
            ? (
              <div className="status-cell">
                <EnabledSwitch name={i.extensionName} enabled={i.status === 'enabled'} busy={toggling === i.id} onToggle={() => onToggle(i)} />
                {i.status !== 'enabled' && <span className="cell-secondary">Calls refused</span>}
              </div>
            )
            : <Badge tone={statusTone(i.status)}>{i.status === 'enabled' ? 'Enabled' : 'Disabled'}</Badge>
        ) },
        { header: 'Last hour', render: (i) => <Activity install={i} /> },
        ...(admin ? [{ header: <span className="visually-hidden">Actions</span>, className: 'cell-actions', render: (i: ListedInstall) => {
          const extension = registry?.get(i.extensionId);
          const canUpgrade = extension !== undefined && newerVersions(extension, i.version).length > 0;
          return (
            <div className="row-actions installed-actions">
              {canUpgrade && (
                <Button size="sm" variant={i.pendingVersion ? 'primary' : 'secondary'} onClick={() => onUpgrade(i, extension)}>
                  {i.pendingVersion ? <>Review upgrade<Of name={i.extensionName} /></> : <>Upgrade<Extension name={i.extensionName} /></>}
                </Button>
              )}
              <Button size="sm" variant="ghost" className="button-danger-text" onClick={() => onUninstall(i)}>Uninstall<Extension name={i.extensionName} /></Button>
            </div>
          );
        } }] : []),
      ]}
    />
  );
}

/** Settings (admins), the extension's own UI when it has one, Activity. */
function EntryPoints({ install, admin }: { install: ListedInstall; admin: boolean }) {
  const uiLabel = install.manifest.ui?.menu?.label;
  return (
    <ul className="entry-points" aria-label={`${install.extensionName} pages`}>
      {admin && <li><Link to={paths.settings(install.id)}>Settings<Of name={install.extensionName} /></Link></li>}
      {install.uiUrl && (
        <li>
          {uiLabel
            // The menu label is what the extension calls its page; the suffix says it opens its UI.
            ? <Link to={paths.extensionUi(install.id)}>{uiLabel}<span className="visually-hidden"> — open UI of {install.extensionName}</span></Link>
            : <Link to={paths.extensionUi(install.id)}>Open UI<Of name={install.extensionName} /></Link>}
        </li>
      )}
      <li><Link to={paths.activity(install.id)}>Activity<Of name={install.extensionName} /></Link></li>
    </ul>
  );
}

function VersionCell({ install, extension }: { install: ListedInstall; extension: RegistryEntry | undefined }) {
  const update = updateFor(extension, install.version);
  return (
    <div className="version-cell">
      <span className="mono">{install.version}</span>
      {install.pendingVersion
        ? <Badge tone="warning" title={`Version ${install.pendingVersion} asks for more and waits for an admin's consent`}>{install.pendingVersion} needs consent</Badge>
        : update && <Badge tone="info" title={`Version ${update.version} was published ${formatDate(update.createdAt)}`}>Update: {update.version}</Badge>}
    </div>
  );
}

/** Requests and errors in the last hour, and the last failure (which may be older). */
function Activity({ install }: { install: ListedInstall }) {
  const { requestsLastHour: requests, errorsLastHour: errors, lastError: last } = install.activity;
  const what = last ? [last.code, last.status !== null ? `HTTP ${last.status}` : null].filter(Boolean).join(' · ') || 'Failed' : '';
  return (
    <div className="activity-cell">
      <span className="nowrap">
        {requests === 1 ? '1 request' : `${requests.toLocaleString()} requests`}
        {errors > 0 && <>{' · '}<span className="activity-errors">{errors === 1 ? '1 error' : `${errors.toLocaleString()} errors`}</span></>}
        {errors === 0 && last && <>{' · '}<span className="cell-secondary">no errors</span></>}
      </span>
      {last
        ? (
          <span className="last-error">
            <span className="cell-secondary">Last error </span>
            <span className="mono last-error-code">{what}</span>
            <span className="cell-secondary"> on <span className="mono">{last.route}</span>, <time dateTime={last.at} title={formatDate(last.at)}>{relativeTime(last.at)}</time></span>
          </span>
        )
        : <span className="cell-secondary">No errors recorded</span>}
    </div>
  );
}

/** " of <name>" for screen readers: the visible label stays short and is the start of the accessible name. */
export function Of({ name }: { name: string }) {
  return <span className="visually-hidden"> of {name}</span>;
}

/**
 * " extension <name>" for screen readers, after a verb: "Uninstall extension com.acme.x" (the
 * hidden text is never the bare name, so the name is found once per row).
 */
export function Extension({ name }: { name: string }) {
  return <span className="visually-hidden"> extension {name}</span>;
}

/** " <name>" for screen readers, after a verb: "Install com.acme.x". */
export function Named({ name }: { name: string }) {
  return <span className="visually-hidden"> {name}</span>;
}

/** A reverse-DNS name that may wrap after its dots (never inside a word). */
export function DottedName({ name }: { name: string }) {
  const parts = name.split('.');
  return <>{parts.map((part, i) => <span key={i}>{part}{i < parts.length - 1 && <>.<wbr /></>}</span>)}</>;
}
