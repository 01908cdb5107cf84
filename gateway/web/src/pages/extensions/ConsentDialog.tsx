/**
 * The consent screen for an install or an upgrade: every capability, outbound host, storage
 * namespace and ui-proxy route the chosen version asks for, in plain words
 * (`permissionsOf` / `capabilityWords` from the shared contracts, the same module the gateway's
 * upgrade check uses). For an upgrade, what is new since the installed manifest and grants
 * (`permissionGrowth` / `isNewPermission`) is highlighted, with a "New" badge whose visually
 * hidden suffix says since which version. Nothing is sent until the admin presses Allow.
 *
 * A modal `<dialog>` like `ConfirmDialog`: labelled by its title, described by its summary,
 * focus starts on Cancel, Tab stays inside, Esc cancels (not while busy), focus returns to the
 * button that opened it.
 */
import { useId, useState } from 'react';
import { alwaysGrantedCapabilities } from '@alga-psa/extension-contracts/capabilities';
import { capabilityWords, isNewPermission, permissionGrowth, permissionsOf, type Permission } from '@alga-psa/extension-contracts/consent';
import { Button } from '../../components/Button.tsx';
import { useModalDialog } from '../../components/use-modal-dialog.ts';
import { formatDate } from '../../components/Table.tsx';
import type { ConsentRequest, RegistryVersion } from './types.ts';
import { isPrerelease } from './versions.ts';

export interface ConsentDialogProps {
  /** null: closed. */
  request: ConsentRequest | null;
  busy: boolean;
  error?: string;
  onConfirm: (version: RegistryVersion) => void;
  onCancel: () => void;
}

export function ConsentDialog({ request, busy, error, onConfirm, onCancel }: ConsentDialogProps) {
  const open = request !== null;
  // Focus starts on Cancel: the safe choice.
  const modal = useModalDialog({ open, busy, onDismiss: onCancel, initialFocus: (el) => el.querySelector<HTMLButtonElement>('[data-cancel]') });

  const key = request ? `${request.mode}:${request.extension.id}:${request.initialVersion}` : 'closed';
  return (
    <dialog
      ref={modal.ref}
      className="dialog consent-dialog"
      aria-labelledby="consent-title"
      aria-describedby={open ? 'consent-summary' : undefined}
      onKeyDown={modal.onKeyDown}
      onCancel={modal.onCancel}
    >
      {request && <ConsentContent key={key} request={request} busy={busy} error={error} onConfirm={onConfirm} onCancel={onCancel} />}
    </dialog>
  );
}

function ConsentContent({ request, busy, error, onConfirm, onCancel }: { request: ConsentRequest; busy: boolean; error?: string; onConfirm: (v: RegistryVersion) => void; onCancel: () => void }) {
  const selectId = useId();
  const listHeadingId = useId();
  const [chosen, setChosen] = useState(request.initialVersion);
  const target = request.choices.find((v) => v.version === chosen) ?? request.choices[0];
  const name = request.extension.name;
  const manifest = target.manifest;
  const permissions = permissionsOf(manifest);
  const installed = request.mode === 'upgrade' ? request.install : undefined;
  const growth = installed ? permissionGrowth(installed.manifest, manifest, new Set(installed.grantedCapabilities)) : undefined;
  const isNew = (p: Permission) => (growth ? isNewPermission(p, growth) : false);
  const newCount = permissions.filter(isNew).length;
  const dropped = installed
    ? permissionsOf(installed.manifest).filter((old) => !permissions.some((p) => p.kind === old.kind && p.id === old.id))
    : [];
  const basics = alwaysGrantedCapabilities.filter((c) => !manifest.capabilities.includes(c));
  const settings = manifest.settings ?? [];
  const secretSettings = settings.filter((s) => s.type === 'secret').length;

  const title = installed ? `Upgrade ${name}?` : `Install ${name}?`;
  const confirmLabel = installed ? (newCount > 0 ? 'Allow and upgrade' : 'Upgrade') : 'Allow and install';

  return (
    <div className="dialog-content consent-content">
      <div className="consent-head">
        <h2 id="consent-title" className="dialog-title">{title}</h2>
        <p className="consent-publisher">
          by <strong>{request.extension.publisher}</strong>
          <span className="muted"> · verified publisher (signed with its key)</span>
        </p>
      </div>

      <div className="consent-scroll" tabIndex={0} role="region" aria-label="What it asks for">
        {manifest.description && <p className="consent-description">{manifest.description}</p>}

        <div className="field consent-version">
          <label htmlFor={selectId}>{installed ? 'Upgrade to version' : 'Version'}</label>
          <select id={selectId} value={target.version} disabled={busy || request.choices.length < 2} onChange={(e) => setChosen(e.target.value)}>
            {request.choices.map((v, i) => (
              <option key={v.id} value={v.version}>
                {v.version}{i === 0 ? ' (latest)' : ''}{isPrerelease(v.version) ? ' (pre-release)' : ''} · {formatDate(v.createdAt)}
              </option>
            ))}
          </select>
          {installed && <p className="field-hint">Installed now: <span className="mono">{installed.version}</span></p>}
        </div>

        <p id="consent-summary" className={installed && newCount > 0 ? 'notice notice-warning consent-summary' : 'notice notice-info consent-summary'}>
          {installed
            ? newCount > 0
              ? <>Version {target.version} asks for {newCount === 1 ? '1 new permission' : `${newCount} new permissions`} since {installed.version}, marked “New” below. Nothing changes until you allow it.</>
              : <>Version {target.version} asks for nothing new since {installed.version}. Nothing changes until you upgrade.</>
            : <>Review what {name} {target.version} asks for. Nothing is installed until you allow it.</>}
        </p>

        <h3 id={listHeadingId} className="consent-list-heading">
          {permissions.length > 0 ? `${installed ? `Version ${target.version}` : 'It'} will be able to:` : 'It asks for no extra permissions.'}
        </h3>
        {permissions.length > 0 && (
          <ul className="consent-list" aria-labelledby={listHeadingId}>
            {permissions.map((p) => {
              const added = isNew(p);
              return (
                <li key={`${p.kind}:${p.id}`} className={added ? 'consent-item consent-item-new' : 'consent-item'}>
                  <span className={`consent-kind consent-kind-${p.kind}`} aria-hidden="true" />
                  <span className="consent-text">
                    <span className="consent-words">{p.text}</span>
                    {p.kind === 'capability' && <span className="consent-id mono">{p.id}</span>}
                  </span>
                  {added && installed && (
                    <span className="badge badge-warning consent-new">New<span className="visually-hidden"> since version {installed.version}</span></span>
                  )}
                </li>
              );
            })}
          </ul>
        )}

        {basics.length > 0 && (
          <p className="consent-basics">
            Like every extension, it {basics.map((c) => capabilityWords[c].replace(/^can /, '')).map((words, i) => `${i === 0 ? 'can ' : ''}${words}`).join(', and ')}.
          </p>
        )}
        {manifest.ui && (
          <p className="consent-basics">It adds a page to this console{manifest.ui.menu ? <>: “{manifest.ui.menu.label}”</> : null}, shown in a sandbox.</p>
        )}
        {!installed && settings.length > 0 && (
          <p className="consent-basics">
            After installing, set it up on its Settings page ({settings.length === 1 ? '1 setting' : `${settings.length} settings`}{secretSettings > 0 ? `, ${secretSettings === 1 ? '1 secret' : `${secretSettings} secrets`}` : ''}).
          </p>
        )}
        {dropped.length > 0 && (
          <div className="consent-dropped">
            <h3 className="consent-list-heading">No longer asked for:</h3>
            <ul className="consent-list consent-list-muted">
              {dropped.map((p) => (
                <li key={`${p.kind}:${p.id}`} className="consent-item">
                  <span className={`consent-kind consent-kind-${p.kind}`} aria-hidden="true" />
                  <span className="consent-text"><span className="consent-words">{p.text}</span></span>
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>

      {error && <div className="form-error consent-error" role="alert">{error}</div>}
      <div className="dialog-actions consent-actions">
        <Button data-cancel onClick={onCancel} disabled={busy}>Cancel</Button>
        <Button variant="primary" busy={busy} onClick={() => onConfirm(target)}>{confirmLabel}</Button>
      </div>
    </div>
  );
}
