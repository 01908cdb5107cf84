/**
 * `/admin/extensions/:installId/settings`: the install's configuration, generated from the
 * manifest's `settings`, and its secrets.
 *
 * - `extension:admin`: the form (`SettingsEditor`): edit, Save (config + secrets), Discard, Reset.
 * - `extension:read` / `extension:write`: a read-only view without secret controls
 *   (`GET /settings` is open to read; `GET /secrets` is admin-only and is not called).
 * - No extension role: "You don't have access", without calling the API.
 * - An unknown install: `InstallPage`'s not-found state.
 */
import { useRef } from 'react';
import { ApiError } from '../../api/client.ts';
import { useSession } from '../../api/session.tsx';
import { useApi } from '../../api/use-api.ts';
import type { Install, InstallSettings } from '../../api/types.ts';
import { EmptyState } from '../../components/EmptyState.tsx';
import { ErrorState } from '../../components/ErrorState.tsx';
import { InstallPage } from '../../components/InstallPage.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Page } from '../../components/Page.tsx';
import { paths } from '../../routes.ts';
import { ReadOnlySettings } from './ReadOnlySettings.tsx';
import { SettingsEditor } from './SettingsEditor.tsx';
import type { SecretsMetadata } from './types.ts';
import './settings.css';

export function SettingsPage({ installId }: { installId: string }) {
  const { hasRole } = useSession();
  if (!hasRole('extension:read')) {
    return (
      <Page title="Settings" back={{ to: paths.extensions, label: 'Extensions' }}>
        <ErrorState error={new ApiError(403, 'E_FORBIDDEN', 'viewing settings needs an extension role')} />
      </Page>
    );
  }
  const canEdit = hasRole('extension:admin');
  return (
    <InstallPage
      installId={installId}
      title="Settings"
      description={canEdit
        ? 'Configuration the extension reads at run time. Secret values are write-only: once saved, they are never shown again.'
        : 'Configuration the extension reads at run time.'}
    >
      {(install, reloadInstall) => <SettingsScreen install={install} canEdit={canEdit} reloadInstall={reloadInstall} />}
    </InstallPage>
  );
}

function SettingsScreen({ install, canEdit, reloadInstall }: { install: Install; canEdit: boolean; reloadInstall(): void }) {
  const base = `/api/v1/installs/${encodeURIComponent(install.id)}`;
  const settingsState = useApi<InstallSettings>(`${base}/settings`);
  // A background reload that fails (after a save) keeps the form and its draft on screen.
  const lastSettings = useRef<InstallSettings | undefined>(undefined);
  if (settingsState.data) lastSettings.current = settingsState.data;
  const settings = settingsState.data ?? lastSettings.current;
  const declaresSecrets = (settings?.settings ?? []).some((f) => f.type === 'secret');
  // Secrets metadata is admin-only; a read user never asks.
  const secretsState = useApi<SecretsMetadata>(canEdit && declaresSecrets ? `${base}/secrets` : null);
  const lastSecrets = useRef<SecretsMetadata | undefined>(undefined);
  if (secretsState.data) lastSecrets.current = secretsState.data;
  const secrets = secretsState.data ?? lastSecrets.current;

  if (!settings) {
    if (settingsState.error) return <ErrorState error={settingsState.error} onRetry={settingsState.reload} what="the settings of this install" />;
    return <Loading label="Loading settings" />;
  }
  const declared = settings.settings ?? [];
  if (declared.length === 0) {
    return <EmptyState title="Nothing to configure">This extension declares no settings or secrets.</EmptyState>;
  }
  if (!canEdit) return <ReadOnlySettings settings={settings} />;
  if (declaresSecrets && !secrets) {
    if (secretsState.error) return <ErrorState error={secretsState.error} onRetry={secretsState.reload} what="the secrets of this install" />;
    return <Loading label="Loading secrets" />;
  }
  const meta = secrets ?? { secretsVersion: install.secretsVersion, keys: [], missing: [], updatedAt: null };
  return <SettingsEditor install={install} settings={settings} secrets={meta} reloadSettings={settingsState.reload} reloadSecrets={secretsState.reload} reloadInstall={reloadInstall} />;
}
