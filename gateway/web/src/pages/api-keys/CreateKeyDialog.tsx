/**
 * "Create API key": a name, one role (read ⊂ write ⊂ admin) and an expiry in days
 * (`POST /api/v1/api-keys { name, roles: [role], ttlDays }`). The answer's key is shown once, in
 * this dialog, with a copy button; it lives in this component's state only (never web storage,
 * never the URL, never a notice) and is dropped when the dialog closes.
 */
import { useId, useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { ApiKey, Role } from '../../api/types.ts';
import { Button } from '../../components/Button.tsx';
import { describeError } from '../../components/ErrorState.tsx';
import { formatDate } from '../../components/Table.tsx';
import { Modal } from './Modal.tsx';
import { roleOptions } from './roles.ts';

const expiryOptions = [7, 30, 90, 180, 365] as const;
const maxDays = 3650;
const maxName = 100;

interface Created { key: string; apiKey: ApiKey }

export function CreateKeyDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (apiKey: ApiKey) => void }) {
  const id = useId();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('extension:read');
  const [expiry, setExpiry] = useState<string>('90');
  const [customDays, setCustomDays] = useState('');
  const [errors, setErrors] = useState<{ name?: string; days?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [copyState, setCopyState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const keyInput = useRef<HTMLInputElement>(null);
  const copyButton = useRef<HTMLButtonElement>(null);
  const nameInput = useRef<HTMLInputElement>(null);

  const days = expiry === 'custom' ? Number(customDays) : Number(expiry);
  const daysValid = Number.isInteger(days) && days >= 1 && days <= maxDays;

  const close = () => {
    // The key goes with the dialog: nothing of it stays in memory the page holds on to.
    setCreated(null);
    setCopyState('idle');
    setName('');
    setRole('extension:read');
    setExpiry('90');
    setCustomDays('');
    setErrors({});
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    const next: typeof errors = {};
    if (!trimmed) next.name = 'Enter a name, so you can tell this key apart later.';
    else if (trimmed.length > maxName) next.name = `Use at most ${maxName} characters.`;
    if (!daysValid) next.days = `Enter a whole number of days from 1 to ${maxDays}.`;
    setErrors(next);
    if (next.name || next.days) {
      (next.name ? nameInput.current : document.getElementById(`${id}-days`))?.focus();
      return;
    }
    setBusy(true);
    try {
      const answer = await api.post<Created>('/api/v1/api-keys', { name: trimmed, roles: [role], ttlDays: days });
      setCreated({ key: answer.key, apiKey: answer.apiKey });
      onCreated(answer.apiKey);
    } catch (err) {
      const message = err instanceof ApiError && err.code === 'E_VALIDATION' ? err.message : describeError(err).body;
      setErrors({ form: `The key was not created: ${message}` });
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!created) return;
    try {
      if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
      await navigator.clipboard.writeText(created.key);
      setCopyState('copied');
    } catch {
      // No clipboard access (permissions, insecure context): select it for Ctrl+C instead.
      keyInput.current?.focus();
      keyInput.current?.select();
      setCopyState('failed');
    }
  };

  const title = created ? 'Copy your new API key' : 'Create API key';
  return (
    <Modal open={open} title={title} busy={busy} onClose={close} step={created ? 'created' : 'form'} initialFocus={created ? copyButton : nameInput} className="dialog-wide">
      {created ? (
        <div className="key-created">
          <p className="notice notice-warning">
            This is the only time the key is shown. Copy it now and keep it somewhere safe, such as a password manager or your
            deployment's secret store. If it is lost, revoke it and create another.
          </p>
          <div className="field">
            <label htmlFor={`${id}-key`}>API key “{created.apiKey.name}”</label>
            <div className="key-copy">
              <input
                ref={keyInput}
                id={`${id}-key`}
                className="mono key-value"
                readOnly
                value={created.key}
                autoComplete="off"
                spellCheck={false}
                onFocus={(e) => e.currentTarget.select()}
                aria-describedby={`${id}-copy-status`}
              />
              <Button ref={copyButton} variant="primary" onClick={() => void copy()}>{copyState === 'copied' ? 'Copied' : 'Copy'}</Button>
            </div>
            <p id={`${id}-copy-status`} className={copyState === 'failed' ? 'field-error' : 'field-hint'} role="status">
              {copyState === 'copied' && 'Copied to the clipboard.'}
              {copyState === 'failed' && 'Couldn’t copy automatically. The key is selected: press Ctrl+C (⌘C on a Mac) to copy it.'}
            </p>
          </div>
          <dl className="details key-summary">
            <div><dt>Role</dt><dd>{roleOptions.find((r) => created.apiKey.roles.includes(r.role))?.label ?? created.apiKey.roles.join(', ')}</dd></div>
            <div><dt>Expires</dt><dd>{formatDate(created.apiKey.expiresAt)}</dd></div>
          </dl>
          <div className="dialog-actions">
            <Button variant={copyState === 'copied' ? 'primary' : 'secondary'} onClick={close}>Done</Button>
          </div>
        </div>
      ) : (
        <form noValidate onSubmit={(e) => void submit(e)}>
          <p className="dialog-body">An API client sends the key as <code>Authorization: Bearer …</code>; it also signs in to this console.</p>
          {errors.form && <p className="form-error" role="alert">{errors.form}</p>}
          <div className="field">
            <label htmlFor={`${id}-name`}>Name</label>
            <input
              ref={nameInput}
              id={`${id}-name`}
              value={name}
              autoComplete="off"
              onChange={(e) => { setName(e.target.value); setErrors((x) => ({ ...x, name: undefined })); }}
              aria-invalid={errors.name ? true : undefined}
              aria-describedby={`${id}-name-hint${errors.name ? ` ${id}-name-error` : ''}`}
            />
            <p id={`${id}-name-hint`} className="field-hint">What uses it, e.g. “Billing sync” or “Jane’s laptop”.</p>
            {errors.name && <p id={`${id}-name-error`} className="field-error">{errors.name}</p>}
          </div>
          <fieldset className="role-options">
            <legend>Role</legend>
            {roleOptions.map((option) => (
              <label key={option.role} className="role-option">
                <input type="radio" name={`${id}-role`} value={option.role} checked={role === option.role} onChange={() => setRole(option.role)} />
                <span className="role-option-text">
                  <span className="role-option-label">{option.label}</span>
                  <span className="role-option-hint">{option.description}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <div className="field">
            <label htmlFor={`${id}-expiry`}>Expires after</label>
            <select id={`${id}-expiry`} value={expiry} onChange={(e) => setExpiry(e.target.value)} aria-describedby={`${id}-expiry-hint`}>
              {expiryOptions.map((d) => <option key={d} value={String(d)}>{d === 365 ? '1 year' : `${d} days`}</option>)}
              <option value="custom">Custom…</option>
            </select>
            {expiry !== 'custom' && <p id={`${id}-expiry-hint`} className="field-hint">Expires on {formatDate(new Date(Date.now() + days * 86_400_000).toISOString())}.</p>}
          </div>
          {expiry === 'custom' && (
            <div className="field">
              <label htmlFor={`${id}-days`}>Days until it expires</label>
              <input
                id={`${id}-days`}
                type="number"
                inputMode="numeric"
                min={1}
                max={maxDays}
                step={1}
                value={customDays}
                onChange={(e) => { setCustomDays(e.target.value); setErrors((x) => ({ ...x, days: undefined })); }}
                aria-invalid={errors.days ? true : undefined}
                aria-describedby={`${id}-days-hint${errors.days ? ` ${id}-days-error` : ''}`}
              />
              <p id={`${id}-days-hint`} className="field-hint">
                {daysValid ? `Expires on ${formatDate(new Date(Date.now() + days * 86_400_000).toISOString())}.` : `From 1 to ${maxDays} days.`}
              </p>
              {errors.days && <p id={`${id}-days-error`} className="field-error">{errors.days}</p>}
            </div>
          )}
          <div className="dialog-actions">
            <Button onClick={close} disabled={busy}>Cancel</Button>
            <Button type="submit" variant="primary" busy={busy}>Create key</Button>
          </div>
        </form>
      )}
    </Modal>
  );
}
