/**
 * The Available tab: every extension in the registry with its verified publisher, description,
 * versions (newest first), a short summary of what its latest version asks for, and whether the
 * tenant has it. Admins get Install (or Upgrade when an installed one has a newer version); both
 * open the consent screen first.
 */
import { capabilityWords } from '@alga-psa/extension-contracts/consent';
import type { CapabilityId } from '@alga-psa/extension-contracts/capabilities';
import { useSession } from '../../api/session.tsx';
import { Badge } from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { DataTable, formatDate } from '../../components/Table.tsx';
import { DottedName, Named } from './InstalledList.tsx';
import type { ListedInstall, RegistryEntry, RegistryVersion } from './types.ts';
import { defaultVersion, isPrerelease, newerVersions } from './versions.ts';

export interface AvailableListProps {
  extensions: RegistryEntry[];
  /** By extension id; undefined while the installs load. */
  installed: Map<string, ListedInstall> | undefined;
  onInstall: (extension: RegistryEntry) => void;
  onUpgrade: (install: ListedInstall, extension: RegistryEntry) => void;
}

export function AvailableList({ extensions, installed, onInstall, onUpgrade }: AvailableListProps) {
  const { hasRole } = useSession();
  const admin = hasRole('extension:admin');
  if (extensions.length === 0) {
    return <EmptyState title="The registry is empty">No extension has been published yet. Published extensions appear here for you to install.</EmptyState>;
  }
  return (
    <DataTable
      caption="Available extensions"
      rows={extensions}
      rowKey={(e) => e.id}
      columns={[
        { header: 'Extension', render: (e) => {
          const latest = defaultVersion(e.versions);
          return (
            <div className="cell-title">
              <span className="cell-primary extension-name"><DottedName name={e.name} /></span>
              <span className="cell-secondary">by <span title="Verified: the owner of the key that signed the bundle">{e.publisher}</span></span>
              {latest?.description && <span className="cell-description">{latest.description}</span>}
            </div>
          );
        } },
        { header: 'Versions', render: (e) => <Versions extension={e} installed={installed?.get(e.id)} /> },
        { header: 'Asks for', render: (e) => <AsksFor version={defaultVersion(e.versions)} /> },
        { header: 'Status', className: 'cell-actions', render: (e) => {
          const install = installed?.get(e.id);
          if (!installed) return null;
          return (
            <div className="available-status">
              {install ? <Badge tone="success">Installed {install.version}</Badge> : <Badge>Not installed</Badge>}
              {admin && !install && e.versions.length > 0 && (
                <Button size="sm" variant="secondary" onClick={() => onInstall(e)}>Install<Named name={e.name} /></Button>
              )}
              {admin && install && newerVersions(e, install.version).length > 0 && (
                <Button size="sm" variant="secondary" onClick={() => onUpgrade(install, e)}>Upgrade<Named name={e.name} /></Button>
              )}
            </div>
          );
        } },
      ]}
    />
  );
}

function Versions({ extension, installed }: { extension: RegistryEntry; installed: ListedInstall | undefined }) {
  const latest = defaultVersion(extension.versions);
  if (!latest) return <span className="muted">—</span>;
  return (
    <div className="versions-cell">
      <span className="nowrap"><span className="mono">{latest.version}</span> <span className="cell-secondary">latest</span></span>
      {extension.versions.length > 1 && (
        <details className="versions-details">
          <summary>{extension.versions.length} versions<span className="visually-hidden"> of {extension.name}</span></summary>
          <ul className="versions-list">
            {extension.versions.map((v) => (
              <li key={v.id}>
                <span className="mono">{v.version}</span>
                {isPrerelease(v.version) && <span className="cell-secondary"> pre-release</span>}
                {installed?.version === v.version && <span className="cell-secondary"> (installed)</span>}
                <span className="cell-secondary"> · {formatDate(v.createdAt)}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

/** Short names for the capabilities; the full plain words are the tooltip and the consent screen's. */
const shortNames: Partial<Record<CapabilityId, (v: RegistryVersion) => string>> = {
  'cap:secrets.get': () => 'Secrets you set',
  'cap:secrets.use': () => 'Sends secrets, unread',
  'cap:http.fetch': (v) => {
    const n = v.manifest.http?.allowedHosts?.length ?? 0;
    return n === 1 ? 'Calls 1 web address' : `Calls ${n} web addresses`;
  },
  'cap:storage.kv': () => 'Its own storage',
  'cap:ui.proxy': () => 'Platform routes, as you',
};

function AsksFor({ version }: { version: RegistryVersion | undefined }) {
  if (!version) return null;
  const items = version.capabilities.flatMap((c) => {
    const short = shortNames[c as CapabilityId];
    return short ? [{ id: c, label: short(version), title: capabilityWords[c as CapabilityId] }] : [];
  });
  if (items.length === 0) return <span className="cell-secondary">Nothing extra</span>;
  return (
    <ul className="chip-list" aria-label={`What ${version.manifest.name} ${version.version} asks for`}>
      {items.map((i) => <li key={i.id} className="chip" title={i.title}>{i.label}</li>)}
    </ul>
  );
}
