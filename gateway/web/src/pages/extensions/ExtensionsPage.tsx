/**
 * `/admin/extensions[?tab=installed|available]`: the tenant's installs and the registry.
 *
 * Installed: each install with its entry points (Settings, its UI, Activity), version, the
 * enabled switch (a kill switch: the next API call of a disabled install is refused), the last
 * hour of requests and errors and the last error; admins upgrade and uninstall from here.
 * Available: every extension in the registry with its publisher, description and versions.
 *
 * Install and upgrade go through the consent screen (`ConsentDialog`): nothing is sent until the
 * admin allows what the version asks for. An upgrade is sent with `consent: true` only then, so
 * merely looking at an upgrade never records a pending version on the gateway.
 * Only `extension:admin` sees install, upgrade, the switch and uninstall.
 */
import { useMemo, useState } from 'react';
import { api } from '../../api/client.ts';
import { useApi } from '../../api/use-api.ts';
import { useSession } from '../../api/session.tsx';
import { Button } from '../../components/Button.tsx';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { describeError, ErrorState } from '../../components/ErrorState.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Page } from '../../components/Page.tsx';
import { Tabs } from '../../components/Tabs.tsx';
import { useNotify } from '../../components/Toast.tsx';
import { setSearchParam, useSearchParam } from '../../router.tsx';
import { AvailableList } from './AvailableList.tsx';
import { ConsentDialog } from './ConsentDialog.tsx';
import { InstalledList } from './InstalledList.tsx';
import type { ConsentRequest, ListedInstall, RegistryEntry, RegistryVersion } from './types.ts';
import { defaultVersion, isPrerelease, newerVersions } from './versions.ts';
import './extensions.css';

type Tab = 'installed' | 'available';

export function ExtensionsPage() {
  const tab: Tab = useSearchParam('tab') === 'available' ? 'available' : 'installed';
  const { hasRole } = useSession();
  const admin = hasRole('extension:admin');
  const notify = useNotify();
  const installs = useApi<{ installs: ListedInstall[] }>('/api/v1/installs');
  const registry = useApi<{ extensions: RegistryEntry[] }>('/api/v1/registry/extensions');

  const [consent, setConsent] = useState<ConsentRequest | null>(null);
  const [consentBusy, setConsentBusy] = useState(false);
  const [consentError, setConsentError] = useState<string>();
  const [toggling, setToggling] = useState<string | null>(null);
  const [uninstalling, setUninstalling] = useState<ListedInstall | null>(null);
  const [uninstallBusy, setUninstallBusy] = useState(false);
  const [uninstallError, setUninstallError] = useState<string>();

  const byExtension = useMemo(() => registry.data && new Map(registry.data.extensions.map((e) => [e.id, e])), [registry.data]);
  const installedByExtension = useMemo(() => installs.data && new Map(installs.data.installs.map((i) => [i.extensionId, i])), [installs.data]);

  const openInstall = (extension: RegistryEntry) => {
    const initial = defaultVersion(extension.versions);
    if (!initial) return;
    setConsentError(undefined);
    setConsent({ mode: 'install', extension, choices: extension.versions, initialVersion: initial.version });
  };

  const openUpgrade = (install: ListedInstall, extension: RegistryEntry) => {
    const choices = newerVersions(extension, install.version);
    if (choices.length === 0) return;
    const initial = choices.find((v) => v.version === install.pendingVersion) ?? choices.find((v) => !isPrerelease(v.version)) ?? choices[0];
    setConsentError(undefined);
    setConsent({ mode: 'upgrade', extension, install, choices, initialVersion: initial.version });
  };

  const confirmConsent = async (version: RegistryVersion) => {
    if (!consent) return;
    setConsentBusy(true);
    setConsentError(undefined);
    try {
      if (consent.mode === 'install') {
        // Grants: exactly what the screen listed (the gateway adds the always-granted ones).
        await api.post('/api/v1/extensions/install', { extension: consent.extension.id, version: version.version, grants: [...version.manifest.capabilities] });
        notify({ tone: 'success', message: `Installed ${consent.extension.name} ${version.version}.${(version.manifest.settings ?? []).length > 0 ? ' Set it up on its Settings page.' : ''}` });
        setSearchParam('tab', null);
      } else {
        await api.post(`/api/v1/installs/${encodeURIComponent(consent.install.id)}/upgrade`, { version: version.version, consent: true });
        notify({ tone: 'success', message: `Upgraded ${consent.extension.name} to ${version.version}.` });
      }
      setConsent(null);
      installs.reload();
    } catch (err) {
      setConsentError(describeError(err).body);
      // Another admin may have installed or upgraded it meanwhile: show the current state behind the dialog.
      installs.reload();
    } finally {
      setConsentBusy(false);
    }
  };

  const toggle = async (install: ListedInstall) => {
    const enable = install.status !== 'enabled';
    setToggling(install.id);
    try {
      await api.post(`/api/v1/installs/${encodeURIComponent(install.id)}/${enable ? 'enable' : 'disable'}`);
      notify({ tone: 'success', message: enable ? `${install.extensionName} is enabled: its API calls run again.` : `${install.extensionName} is disabled: its API calls are refused from the next request.` });
      installs.reload();
    } catch (err) {
      notify({ tone: 'error', message: `Could not ${enable ? 'enable' : 'disable'} ${install.extensionName}: ${describeError(err).body}` });
    } finally {
      setToggling(null);
    }
  };

  const uninstall = async () => {
    if (!uninstalling) return;
    setUninstallBusy(true);
    setUninstallError(undefined);
    try {
      await api.del(`/api/v1/installs/${encodeURIComponent(uninstalling.id)}`);
      notify({ tone: 'success', message: `Uninstalled ${uninstalling.extensionName}; its settings, secrets and stored data were deleted.` });
      setUninstalling(null);
      installs.reload();
    } catch (err) {
      setUninstallError(describeError(err).body);
    } finally {
      setUninstallBusy(false);
    }
  };

  const refreshing = installs.loading || registry.loading;
  return (
    <Page
      title="Extensions"
      description="Extensions installed for your tenant, and those you can install from the registry."
      actions={(installs.data || registry.data) && (
        <Button variant="ghost" size="sm" busy={refreshing && Boolean(installs.data)} onClick={() => { installs.reload(); registry.reload(); }}>Refresh</Button>
      )}
    >
      <Tabs
        label="Extensions"
        tabs={[
          { id: 'installed', label: 'Installed', count: installs.data?.installs.length },
          { id: 'available', label: 'Available', count: registry.data?.extensions.length },
        ]}
        active={tab}
        onChange={(id) => setSearchParam('tab', id === 'installed' ? null : id)}
      >
        {tab === 'installed'
          ? installs.error
            ? <ErrorState error={installs.error} onRetry={installs.reload} />
            : !installs.data
              ? <Loading label="Loading installed extensions" />
              : (
                <InstalledList
                  installs={installs.data.installs}
                  registry={byExtension}
                  toggling={toggling}
                  onToggle={(i) => void toggle(i)}
                  onUpgrade={openUpgrade}
                  onUninstall={(i) => { setUninstallError(undefined); setUninstalling(i); }}
                />
              )
          : registry.error
            ? <ErrorState error={registry.error} onRetry={registry.reload} />
            : !registry.data
              ? <Loading label="Loading the registry" />
              : <AvailableList extensions={registry.data.extensions} installed={installedByExtension} onInstall={openInstall} onUpgrade={openUpgrade} />}
      </Tabs>

      {admin && (
        <>
          <ConsentDialog request={consent} busy={consentBusy} error={consentError} onConfirm={(v) => void confirmConsent(v)} onCancel={() => setConsent(null)} />
          <ConfirmDialog
            open={uninstalling !== null}
            title={`Uninstall ${uninstalling?.extensionName ?? ''}?`}
            confirmLabel="Uninstall"
            danger
            busy={uninstallBusy}
            error={uninstallError}
            onConfirm={() => void uninstall()}
            onCancel={() => setUninstalling(null)}
          >
            <p>It stops at once: its API calls are refused and its pages go away.</p>
            <p>Its settings, secrets and stored data are deleted for good. Installing it again starts from scratch.</p>
          </ConfirmDialog>
        </>
      )}
    </Page>
  );
}
