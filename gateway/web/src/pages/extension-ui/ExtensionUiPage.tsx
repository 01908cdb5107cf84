/**
 * `/admin/extensions/:installId/ui`: the extension's own iframe UI (manifest `ui.entry`, titled
 * by `ui.menu.label`), hosted with the `@alga-psa/extension-ui/host` bridge (`ExtensionUiFrame`).
 *
 * States: no UI in the manifest → an empty state; a disabled install → a notice (its calls would
 * be refused with E_INSTALL_DISABLED) with "Enable extension" for admins; enabled → the frame,
 * loading until the UI connects, an error with a retry when it does not. When a call from the
 * frame is refused because the install was disabled meanwhile, the page reloads the install and
 * says so.
 *
 * Why the UI cannot read this page's cookies or DOM: see sdk/docs/ui-proxy-pattern.md, "How the
 * admin console hosts a UI".
 */
import { useCallback, useState } from 'react';
import { api } from '../../api/client.ts';
import { useSession } from '../../api/session.tsx';
import { Button, buttonClass } from '../../components/Button.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { describeError } from '../../components/ErrorState.tsx';
import { InstallPage } from '../../components/InstallPage.tsx';
import { useNotify } from '../../components/Toast.tsx';
import { Link } from '../../router.tsx';
import { paths } from '../../routes.ts';
import { ExtensionUiFrame } from './ExtensionUiFrame.tsx';
import { uiLabel, type InstallWithManifest } from './types.ts';
import './extension-ui.css';

export function ExtensionUiPage({ installId }: { installId: string }) {
  return (
    <InstallPage installId={installId} title="Extension UI">
      {(install, reload) => <ExtensionUi install={install} reload={reload} />}
    </InstallPage>
  );
}

function ExtensionUi({ install, reload }: { install: InstallWithManifest; reload: () => void }) {
  const [refused, setRefused] = useState(false);
  const [generation, setGeneration] = useState(0);
  const onInstallDisabled = useCallback(() => {
    setRefused(true);
    reload();
  }, [reload]);

  if (!install.uiUrl) {
    return (
      <EmptyState title="This extension has no UI" action={<Link to={paths.activity(install.id)} className={buttonClass('secondary')}>View activity</Link>}>
        {install.extensionName} works through its API endpoints only; there is nothing to open here.
      </EmptyState>
    );
  }
  if (install.status !== 'enabled') {
    return <DisabledUi install={install} refused={refused} onEnabled={() => { setRefused(false); reload(); }} />;
  }

  const label = uiLabel(install);
  return (
    <>
      <section className="card ext-ui-card" aria-labelledby="ext-ui-title">
        <div className="card-header">
          <div>
            <h2 id="ext-ui-title">{label}</h2>
            <p className="card-meta">By {install.publisher} · runs in a sandbox, without your session</p>
          </div>
          <Button variant="ghost" size="sm" onClick={() => setGeneration((g) => g + 1)}>Reload UI</Button>
        </div>
        <ExtensionUiFrame install={install} label={label} generation={generation} onInstallDisabled={onInstallDisabled} />
      </section>
      <p className="muted ext-ui-footnote">
        This UI is made by {install.publisher}. It cannot see this page, your session or your API keys: it reaches its
        extension only through this console, which makes each request for it.
      </p>
    </>
  );
}

function DisabledUi({ install, refused, onEnabled }: { install: InstallWithManifest; refused: boolean; onEnabled: () => void }) {
  const { hasRole } = useSession();
  const notify = useNotify();
  const [busy, setBusy] = useState(false);
  const admin = hasRole('extension:admin');

  const enable = async () => {
    setBusy(true);
    try {
      await api.post(`/api/v1/installs/${encodeURIComponent(install.id)}/enable`);
      notify({ tone: 'success', message: `${install.extensionName} enabled` });
      onEnabled();
    } catch (err) {
      notify({ tone: 'error', message: `Could not enable ${install.extensionName}: ${describeError(err).body}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {refused && (
        <div className="notice notice-warning" role="alert">
          The extension was disabled while its UI was open: the UI's last request was refused (<code>E_INSTALL_DISABLED</code>).
        </div>
      )}
      <EmptyState
        title="This extension is disabled"
        action={admin ? <Button variant="primary" busy={busy} onClick={() => void enable()}>Enable extension</Button> : undefined}
      >
        Its UI is not opened while the extension is disabled: every request it makes would be refused.{' '}
        {admin ? 'Enable it to use the UI again.' : 'Ask a tenant admin to enable it.'}
      </EmptyState>
    </>
  );
}
