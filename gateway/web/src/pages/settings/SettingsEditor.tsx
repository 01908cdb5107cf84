/**
 * The settings form for `extension:admin`: the manifest's non-secret settings in their groups, the
 * Secrets section, one Save for both, Discard, and Reset to defaults.
 *
 * - Validation runs on every change with the shared `validateConfig` (what the gateway runs), and
 *   shows at a field once it was left or Save was pressed; nothing invalid is sent. Issues the
 *   gateway still reports (`400 E_VALIDATION`, `details.issues[].key`) go to their field, e.g.
 *   when the extension was upgraded since the page loaded (the declaration is then reloaded).
 * - Save: `PUT /settings` (the full config) when it changed, then `PUT /secrets { set, remove }`
 *   when a secret did; the new config and secrets versions are shown. Secret values are read from
 *   their inputs at that moment and the inputs are emptied as soon as the gateway accepted them.
 * - Reset: `POST /reset`, after a confirmation that says every secret is cleared.
 * - Leaving with unsaved changes asks first (`useLeaveGuard`).
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import type { SettingField, SettingIssue } from '@alga-psa/extension-contracts/settings';
import { api, ApiError } from '../../api/client.ts';
import type { Install, InstallSettings } from '../../api/types.ts';
import { Button } from '../../components/Button.tsx';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { describeError } from '../../components/ErrorState.tsx';
import { formatDate, relativeTime } from '../../components/Table.tsx';
import { useNotify } from '../../components/Toast.tsx';
import { ConfigField } from './ConfigField.tsx';
import { afterSecretsPut, configDirty, groupFields, issuesByKey, secretFields, toConfig, toDraft, validateDraft, type Draft, type DraftValue } from './model.ts';
import { SecretsSection, type SecretMode } from './SecretsSection.tsx';
import type { PutSecretsAnswer, PutSettingsAnswer, ResetAnswer, SecretsMetadata } from './types.ts';
import { useLeaveGuard } from './useLeaveGuard.ts';

interface Saved { config: Record<string, unknown>; configVersion: number; updatedAt: string | null }

export interface SettingsEditorProps {
  install: Install;
  settings: InstallSettings;
  secrets: SecretsMetadata;
  /** Asks `GET /settings` again (a newer declaration or config, the change time). */
  reloadSettings(): void;
  /** Asks `GET /secrets` again (someone else changed them, e.g. an upgrade). */
  reloadSecrets(): void;
  /** Asks `GET /installs/:id` again (the version in the page header). */
  reloadInstall(): void;
}

export function SettingsEditor({ install, settings, secrets, reloadSettings, reloadSecrets, reloadInstall }: SettingsEditorProps) {
  const notify = useNotify();
  const fields = useMemo(() => (settings.settings ?? []) as SettingField[], [settings.settings]);
  const groups = useMemo(() => groupFields(fields), [fields]);
  const secretList = useMemo(() => secretFields(fields), [fields]);
  const base = `/api/v1/installs/${encodeURIComponent(install.id)}`;

  const [saved, setSaved] = useState<Saved>({ config: settings.config, configVersion: settings.configVersion, updatedAt: settings.updatedAt });
  const [draft, setDraft] = useState<Draft>(() => toDraft(fields, settings.config));
  const [meta, setMeta] = useState<SecretsMetadata>(secrets);
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<ReadonlyMap<string, string>>(new Map());
  const [formError, setFormError] = useState<string>();
  const [staleHint, setStaleHint] = useState(false);
  const [status, setStatus] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [modes, setModes] = useState<Record<string, SecretMode | undefined>>({});
  const [typed, setTyped] = useState<ReadonlySet<string>>(new Set());
  const [confirmReset, setConfirmReset] = useState(false);
  const [resetError, setResetError] = useState<string>();

  const secretInputs = useRef(new Map<string, HTMLInputElement>());
  const inputRefs = useRef(new Map<string, (el: HTMLInputElement | null) => void>());
  const formErrorRef = useRef<HTMLDivElement>(null);
  const saveButton = useRef<HTMLButtonElement>(null);
  const formId = useId();

  const clientErrors = useMemo(() => validateDraft(fields, draft), [fields, draft]);
  const isConfigDirty = useMemo(() => configDirty(fields, draft, saved.config), [fields, draft, saved.config]);
  const secretChanges = secretList.filter((f) => modes[f.key] === 'remove' || (modes[f.key] === 'edit' && typed.has(f.key))).length;
  const dirty = isConfigDirty || secretChanges > 0;
  const guard = useLeaveGuard(dirty);
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;

  // A newer answer of GET /settings (after a save, a reset or a refused save): take its version and
  // change time; take its config too unless the user is editing.
  useEffect(() => {
    setSaved((current) => {
      if (settings.configVersion < current.configVersion) return current;
      if (settings.configVersion === current.configVersion) return current.updatedAt === settings.updatedAt ? current : { ...current, updatedAt: settings.updatedAt };
      return { config: settings.config, configVersion: settings.configVersion, updatedAt: settings.updatedAt };
    });
  }, [settings]);
  const lastAdopted = useRef(settings.configVersion);
  useEffect(() => {
    if (settings.configVersion > lastAdopted.current) {
      lastAdopted.current = settings.configVersion;
      if (!dirtyRef.current) setDraft(toDraft(fields, settings.config));
    }
  }, [settings, fields]);
  useEffect(() => {
    setMeta((current) => (secrets.secretsVersion > current.secretsVersion ? secrets : current));
  }, [secrets]);

  /** Ref callbacks per key, stable, so React does not detach and re-attach the inputs on every render. */
  const inputRef = useCallback((key: string) => {
    let ref = inputRefs.current.get(key);
    if (!ref) {
      ref = (el) => { if (el) secretInputs.current.set(key, el); else secretInputs.current.delete(key); };
      inputRefs.current.set(key, ref);
    }
    return ref;
  }, []);

  const change = (key: string, value: DraftValue, immediate: boolean) => {
    setDraft((d) => ({ ...d, [key]: value }));
    if (immediate) setTouched((t) => new Set(t).add(key));
    if (serverErrors.has(key)) setServerErrors((e) => { const next = new Map(e); next.delete(key); return next; });
    setStatus(undefined);
  };

  const setMode = (key: string, mode: SecretMode | undefined) => {
    setModes((m) => ({ ...m, [key]: mode }));
    setTyped((t) => { const next = new Set(t); next.delete(key); return next; });
    if (serverErrors.has(key)) setServerErrors((e) => { const next = new Map(e); next.delete(key); return next; });
    setStatus(undefined);
    if (mode === 'edit') requestAnimationFrame(() => secretInputs.current.get(key)?.focus());
  };
  const setTypedKey = (key: string, nonEmpty: boolean) => {
    setTyped((t) => {
      if (t.has(key) === nonEmpty) return t;
      const next = new Set(t);
      if (nonEmpty) next.add(key); else next.delete(key);
      return next;
    });
    setStatus(undefined);
  };

  /** Empties every secret input and closes the editors: nothing of a value stays on the page. */
  const clearSecretInputs = () => {
    for (const el of secretInputs.current.values()) el.value = '';
    setModes({});
    setTyped(new Set());
  };

  const fieldError = (key: string) => serverErrors.get(key) ?? ((touched.has(key) || submitted) ? clientErrors.get(key) : undefined);

  const focusFirstProblem = (keys: Iterable<string>) => {
    const wanted = new Set(keys);
    requestAnimationFrame(() => {
      const form = document.getElementById(formId);
      const first = [...(form?.querySelectorAll<HTMLElement>('[aria-invalid="true"]') ?? [])][0];
      if (first && wanted.size > 0) first.focus();
      else formErrorRef.current?.focus();
    });
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setSubmitted(true);
    setFormError(undefined);
    setStaleHint(false);
    setStatus(undefined);
    if (clientErrors.size > 0) {
      const n = clientErrors.size;
      const labels = fields.filter((f) => clientErrors.has(f.key)).map((f) => f.label);
      setFormError(`${n === 1 ? 'One setting needs' : `${n} settings need`} attention before you can save: ${labels.join(', ')}.`);
      focusFirstProblem(clientErrors.keys());
      return;
    }
    // The staged secret changes, read from the inputs only now.
    const set: Record<string, string> = {};
    const remove: string[] = [];
    for (const f of secretList) {
      if (modes[f.key] === 'remove') remove.push(f.key);
      else if (modes[f.key] === 'edit') {
        const value = secretInputs.current.get(f.key)?.value ?? '';
        if (value.length > 0) set[f.key] = value;
      }
    }
    const hasSecretChanges = Object.keys(set).length > 0 || remove.length > 0;
    if (!isConfigDirty && !hasSecretChanges) {
      clearSecretInputs();
      setStatus('No changes to save.');
      return;
    }
    setBusy(true);
    let configVersion = saved.configVersion;
    let configSaved = false;
    try {
      if (isConfigDirty) {
        const answer = await api.put<PutSettingsAnswer>(`${base}/settings`, toConfig(fields, draft));
        configVersion = answer.configVersion;
        configSaved = true;
        lastAdopted.current = Math.max(lastAdopted.current, answer.configVersion);
        setSaved({ config: answer.config, configVersion: answer.configVersion, updatedAt: new Date().toISOString() });
        setDraft(toDraft(fields, answer.config));
      }
      let secretsVersion = meta.secretsVersion;
      if (hasSecretChanges) {
        const answer = await api.put<PutSecretsAnswer>(`${base}/secrets`, { set, remove });
        clearSecretInputs();
        secretsVersion = answer.secretsVersion;
        setMeta((m) => afterSecretsPut(fields, m, answer, Object.keys(set)));
      }
      setTouched(new Set());
      setSubmitted(false);
      setServerErrors(new Map());
      const message = `Saved. Configuration version ${configVersion}, secrets version ${secretsVersion}.`;
      setStatus(message);
      notify({ tone: 'success', message: `Settings saved · configuration v${configVersion} · secrets v${secretsVersion}` });
      if (configSaved) reloadSettings();
    } catch (err) {
      const issues = err instanceof ApiError && err.code === 'E_VALIDATION' ? ((err.details as { issues?: SettingIssue[] } | undefined)?.issues ?? []) : [];
      const byKey = issuesByKey(fields, issues);
      const general = byKey.get('');
      byKey.delete('');
      setServerErrors(byKey);
      const prefix = configSaved ? `The settings were saved (configuration version ${configVersion}), but the secrets were not: ` : '';
      if (byKey.size > 0) {
        const n = byKey.size;
        setFormError(`${prefix}The gateway refused ${n === 1 ? 'one value' : `${n} values`}; see the marked ${n === 1 ? 'field' : 'fields'}.${general ? ` ${general}` : ''}`);
        // Our check passed but the gateway's did not: the declaration may have changed (an upgrade).
        if (!configSaved) { setStaleHint(true); reloadSettings(); reloadSecrets(); reloadInstall(); }
      } else {
        setFormError(`${prefix}${general ?? describeError(err).body}`);
      }
      focusFirstProblem(byKey.keys());
    } finally {
      setBusy(false);
    }
  };

  const discard = () => {
    setDraft(toDraft(fields, saved.config));
    clearSecretInputs();
    setTouched(new Set());
    setSubmitted(false);
    setServerErrors(new Map());
    setFormError(undefined);
    setStaleHint(false);
    setStatus('Changes discarded.');
    saveButton.current?.focus();
  };

  const reset = async () => {
    setBusy(true);
    setResetError(undefined);
    try {
      const answer = await api.post<ResetAnswer>(`${base}/reset`);
      clearSecretInputs();
      lastAdopted.current = Math.max(lastAdopted.current, answer.configVersion);
      setSaved({ config: answer.config, configVersion: answer.configVersion, updatedAt: new Date().toISOString() });
      setDraft(toDraft(fields, answer.config));
      setMeta({ secretsVersion: answer.secretsVersion, keys: [], missing: secretList.map((f) => f.key), updatedAt: null });
      setTouched(new Set());
      setSubmitted(false);
      setServerErrors(new Map());
      setFormError(undefined);
      setConfirmReset(false);
      const message = `Reset to defaults. Configuration version ${answer.configVersion}, secrets version ${answer.secretsVersion}.`;
      setStatus(message);
      notify({ tone: 'success', message: 'Settings reset to defaults; secrets cleared' });
      reloadSettings();
    } catch (err) {
      setResetError(describeError(err).body);
    } finally {
      setBusy(false);
    }
  };

  const anyRequired = fields.some((f) => f.required);
  const changes = (isConfigDirty ? 1 : 0) + secretChanges;

  return (
    <>
      <div className="settings-versions" aria-label="Versions" role="group">
        <div className="settings-version">
          <span className="settings-version-label">Configuration</span>
          <span className="settings-version-value">Version <span className="mono" data-testid="config-version">{saved.configVersion}</span></span>
          <span className="settings-version-meta">{saved.updatedAt ? <>Changed <time dateTime={saved.updatedAt} title={formatDate(saved.updatedAt)}>{relativeTime(saved.updatedAt)}</time></> : 'Never changed'}</span>
        </div>
        {secretList.length > 0 && (
          <div className="settings-version">
            <span className="settings-version-label">Secrets</span>
            <span className="settings-version-value">Version <span className="mono">{meta.secretsVersion}</span></span>
            <span className="settings-version-meta">{meta.keys.length} of {secretList.length} set</span>
          </div>
        )}
      </div>

      <form id={formId} className="settings-form" noValidate onSubmit={(e) => void save(e)} aria-label="Settings">
        {formError && (
          <div ref={formErrorRef} className="form-error" role="alert" tabIndex={-1}>
            {formError}
            {staleHint && <> The extension's settings may have changed since this page was loaded (for example by an upgrade); the form now uses the current declaration.</>}
          </div>
        )}
        {anyRequired && <p className="settings-required-legend"><span className="required-mark" aria-hidden="true">*</span> Required</p>}

        {groups.map((group) => (
          <section key={group.id} className="card settings-section" aria-labelledby={`${formId}-${group.id}`}>
            <div className="card-header"><h2 id={`${formId}-${group.id}`}>{group.title}</h2></div>
            <div className="settings-fields">
              {group.fields.map((field) => (
                <ConfigField
                  key={field.key}
                  field={field}
                  value={draft[field.key]}
                  error={fieldError(field.key)}
                  disabled={busy}
                  onChange={(value) => change(field.key, value, field.type === 'boolean' || field.type === 'select')}
                  onBlur={() => setTouched((t) => (t.has(field.key) ? t : new Set(t).add(field.key)))}
                />
              ))}
            </div>
          </section>
        ))}

        {secretList.length > 0 && (
          <SecretsSection
            fields={secretList}
            meta={meta}
            modes={modes}
            typed={typed}
            errors={serverErrors}
            busy={busy}
            inputRef={inputRef}
            onMode={setMode}
            onTyped={setTypedKey}
          />
        )}

        <div className={dirty ? 'settings-savebar settings-savebar-dirty' : 'settings-savebar'}>
          <p className="settings-savebar-status" role="status" aria-live="polite">
            {status ?? (dirty ? `Unsaved changes${changes > 1 ? ` (${changes})` : ''}` : 'All changes saved')}
          </p>
          <div className="settings-savebar-actions">
            <Button variant="ghost" disabled={!dirty || busy} onClick={discard}>Discard</Button>
            <Button ref={saveButton} type="submit" variant="primary" busy={busy && !confirmReset}>Save</Button>
          </div>
        </div>
      </form>

      <section className="card settings-danger" aria-labelledby={`${formId}-reset`}>
        <div className="settings-danger-text">
          <h2 id={`${formId}-reset`}>Reset to defaults</h2>
          <p>Puts every setting back to the extension's default{secretList.length > 0 ? ' and clears all secrets' : ''}.</p>
        </div>
        <Button variant="danger" disabled={busy} onClick={() => { setResetError(undefined); setConfirmReset(true); }}>Reset to defaults…</Button>
      </section>

      <ConfirmDialog
        open={confirmReset}
        title="Reset to defaults?"
        confirmLabel={secretList.length > 0 ? 'Reset and clear secrets' : 'Reset'}
        danger
        busy={busy}
        error={resetError}
        onConfirm={() => void reset()}
        onCancel={() => setConfirmReset(false)}
      >
        <p>Every setting goes back to the extension's default.</p>
        {secretList.length > 0 && (
          <p><strong>All secrets will be cleared</strong> ({secretList.map((f) => f.label).join(', ')}); the extension cannot use them until an admin sets them again.</p>
        )}
        {dirty && <p>Your unsaved changes will be lost.</p>}
        <p>This cannot be undone.</p>
      </ConfirmDialog>

      <ConfirmDialog
        open={guard.pending !== null}
        title="Leave without saving?"
        confirmLabel="Leave page"
        cancelLabel="Stay"
        danger
        onConfirm={() => { clearSecretInputs(); guard.leave(); }}
        onCancel={guard.stay}
      >
        You have unsaved changes to these settings{secretChanges > 0 ? ' and secrets' : ''}. If you leave, they are lost.
      </ConfirmDialog>
    </>
  );
}
