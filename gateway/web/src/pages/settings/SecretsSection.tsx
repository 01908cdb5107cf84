/**
 * The Secrets section of the settings form (admins only): for every `type: secret` setting, whether
 * it is set and when it last changed — never its value, which the gateway does not return — and
 * Set / Replace / Remove.
 *
 * Write-only inputs: each value lives only in its own uncontrolled `<input type="password">` (no
 * `value` prop, so React never holds it and the DOM has no `value` attribute); the page reads it
 * from the element when it saves and empties the element right after. The component only knows
 * *whether* an input is non-empty. Changes are staged and applied by the form's Save.
 */
import { useId, type RefCallback } from 'react';
import type { SettingField } from '@alga-psa/extension-contracts/settings';
import { Badge } from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { formatDate, relativeTime } from '../../components/Table.tsx';
import type { SecretsMetadata } from './types.ts';

/** The gateway's limit (`parseSecretsBody`). */
export const SECRET_MAX_LENGTH = 16_384;

export type SecretMode = 'edit' | 'remove';

export interface SecretsSectionProps {
  fields: SettingField[];
  meta: SecretsMetadata;
  modes: Record<string, SecretMode | undefined>;
  /** Keys whose input is non-empty (not the values). */
  typed: ReadonlySet<string>;
  errors: ReadonlyMap<string, string>;
  busy: boolean;
  inputRef(key: string): RefCallback<HTMLInputElement>;
  onMode(key: string, mode: SecretMode | undefined): void;
  onTyped(key: string, nonEmpty: boolean): void;
}

export function SecretsSection({ fields, meta, modes, typed, errors, busy, inputRef, onMode, onTyped }: SecretsSectionProps) {
  const headingId = useId();
  const setAt = new Map(meta.keys.map((k) => [k.key, k.updatedAt]));
  const missingRequired = fields.filter((f) => f.required && !setAt.has(f.key));
  return (
    <section className="card settings-section" aria-labelledby={headingId}>
      <div className="card-header">
        <div>
          <h2 id={headingId}>Secrets</h2>
          <p className="settings-section-lead">Write-only: a saved value can be replaced or removed, never shown again.</p>
        </div>
        <span className="card-meta">Secrets version <span className="mono" data-testid="secrets-version">{meta.secretsVersion}</span>{meta.updatedAt && <> · changed <time dateTime={meta.updatedAt} title={formatDate(meta.updatedAt)}>{relativeTime(meta.updatedAt)}</time></>}</span>
      </div>
      {missingRequired.length > 0 && (
        <div className="notice notice-warning settings-notice">
          The extension needs {missingRequired.map((f) => f.label).join(', ')} before it can work.
        </div>
      )}
      <ul className="secret-list">
        {fields.map((field) => (
          <SecretRow
            key={field.key}
            field={field}
            updatedAt={setAt.get(field.key)}
            mode={modes[field.key]}
            typed={typed.has(field.key)}
            error={errors.get(field.key)}
            busy={busy}
            inputRef={inputRef(field.key)}
            onMode={(mode) => onMode(field.key, mode)}
            onTyped={(nonEmpty) => onTyped(field.key, nonEmpty)}
          />
        ))}
      </ul>
    </section>
  );
}

interface SecretRowProps {
  field: SettingField;
  updatedAt: string | undefined;
  mode: SecretMode | undefined;
  typed: boolean;
  error: string | undefined;
  busy: boolean;
  inputRef: RefCallback<HTMLInputElement>;
  onMode(mode: SecretMode | undefined): void;
  onTyped(nonEmpty: boolean): void;
}

function SecretRow({ field, updatedAt, mode, typed, error, busy, inputRef, onMode, onTyped }: SecretRowProps) {
  const base = useId();
  const isSet = updatedAt !== undefined;
  const titleId = `${base}-title`;
  const descId = `${base}-desc`;
  const hintId = `${base}-hint`;
  const errorId = `${base}-error`;
  const inputId = `${base}-input`;
  const name = <span className="visually-hidden"> {field.label}</span>;

  let status;
  if (mode === 'remove') status = <Badge tone="danger">Removed when you save</Badge>;
  else if (mode === 'edit' && typed) status = <Badge tone="info">{isSet ? 'Replaced when you save' : 'Set when you save'}</Badge>;
  else if (isSet) status = <Badge tone="success">Set</Badge>;
  else status = <Badge tone={field.required ? 'warning' : 'neutral'}>Not set</Badge>;

  return (
    <li className="secret-row" aria-labelledby={titleId}>
      <div className="secret-main">
        <div className="secret-info">
          <h3 id={titleId} className="secret-title">
            {field.label}
            {field.required && <><span className="required-mark" aria-hidden="true">*</span><span className="visually-hidden"> (required)</span></>}
          </h3>
          {field.description && <p id={descId} className="field-hint">{field.description}</p>}
          <p className="secret-key mono">{field.key}</p>
        </div>
        <div className="secret-status">
          {status}
          <span className="secret-changed">
            {isSet ? <>Changed <time dateTime={updatedAt} title={formatDate(updatedAt)}>{relativeTime(updatedAt!)}</time></> : 'Never set'}
          </span>
        </div>
        <div className="secret-actions">
          {mode === undefined && (
            <>
              <Button size="sm" disabled={busy} onClick={() => onMode('edit')}>{isSet ? 'Replace' : 'Set'}{name}</Button>
              {isSet && <Button size="sm" variant="ghost" disabled={busy} onClick={() => onMode('remove')}>Remove{name}</Button>}
            </>
          )}
          {mode === 'remove' && <Button size="sm" disabled={busy} onClick={() => onMode(undefined)}>Undo remove{name}</Button>}
        </div>
      </div>
      {mode === 'edit' && (
        <div className="field secret-field">
          <label htmlFor={inputId}>{isSet ? 'New value' : 'Value'}<span className="visually-hidden"> for {field.label}</span></label>
          <div className="secret-input-row">
            <input
              ref={inputRef}
              id={inputId}
              type="password"
              name={`secret-${field.key}`}
              // "new-password": the browser never fills in a saved password (e.g. the API key used to sign in).
              autoComplete="new-password"
              data-1p-ignore=""
              data-lpignore="true"
              autoCorrect="off"
              autoCapitalize="off"
              spellCheck={false}
              maxLength={SECRET_MAX_LENGTH}
              data-secret-input=""
              disabled={busy}
              aria-invalid={error ? true : undefined}
              aria-describedby={[error ? errorId : '', hintId, field.description ? descId : ''].filter(Boolean).join(' ')}
              onInput={(event) => onTyped(event.currentTarget.value.length > 0)}
            />
            <Button size="sm" variant="ghost" disabled={busy} onClick={() => onMode(undefined)}>Cancel<span className="visually-hidden"> {isSet ? 'replacing' : 'setting'} {field.label}</span></Button>
          </div>
          <p id={hintId} className="field-hint">
            {isSet ? 'Saved with the form; the current value stays until then.' : 'Saved with the form.'} The value is encrypted and cannot be shown again.
          </p>
          {error && <p id={errorId} className="field-error">{error}</p>}
        </div>
      )}
      {mode !== 'edit' && error && <p className="field-error secret-row-error">{error}</p>}
    </li>
  );
}
