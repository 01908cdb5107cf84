/**
 * One non-secret setting as a form control, generated from its manifest declaration: text,
 * textarea, number (typed as text so what was typed stays visible and is checked by the shared
 * schema), boolean (a checkbox) and select. Label, required mark, description, default and range
 * hints; the error sits under the control (`aria-invalid`, `aria-describedby`).
 */
import { useId } from 'react';
import { TEXTAREA_MAX_LENGTH, TEXT_MAX_LENGTH, type SettingField } from '@alga-psa/extension-contracts/settings';
import { defaultHint, type DraftValue } from './model.ts';

export interface ConfigFieldProps {
  field: SettingField;
  value: DraftValue;
  error: string | undefined;
  disabled: boolean;
  onChange(value: DraftValue): void;
  onBlur(): void;
}

export function ConfigField({ field, value, error, disabled, onChange, onBlur }: ConfigFieldProps) {
  const base = useId();
  const inputId = `${base}-input`;
  const hintId = `${base}-hint`;
  const errorId = `${base}-error`;
  const hints = [
    field.description,
    field.type === 'number' ? rangeHint(field) : undefined,
    field.type === 'number' || field.type === 'text' || field.type === 'textarea' ? emptyHint(field) : undefined,
    field.type === 'boolean' ? undefined : defaultHint(field),
  ].filter((h): h is string => Boolean(h));
  const describedBy = [error ? errorId : '', hints.length > 0 ? hintId : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id: inputId,
    name: field.key,
    disabled,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
    'aria-required': field.required ? true : undefined,
    onBlur,
  } as const;
  const label = (
    <label htmlFor={inputId}>
      {field.label}
      {field.required && <span className="required-mark" aria-hidden="true">*</span>}
    </label>
  );
  const hint = hints.length > 0 && <p id={hintId} className="field-hint">{hints.join(' ')}</p>;
  const errorText = error && <p id={errorId} className="field-error">{error}</p>;

  if (field.type === 'boolean') {
    return (
      <div className="field field-check">
        <div className="check-row">
          <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} />
          {label}
        </div>
        {hint}
        {errorText}
      </div>
    );
  }

  let control;
  const text = typeof value === 'string' ? value : '';
  if (field.type === 'textarea') {
    control = <textarea {...common} rows={4} maxLength={TEXTAREA_MAX_LENGTH} value={text} onChange={(e) => onChange(e.currentTarget.value)} />;
  } else if (field.type === 'select') {
    const blank = field.default === undefined;
    control = (
      <select {...common} value={text} onChange={(e) => { onChange(e.currentTarget.value); }}>
        {blank && <option value="">{field.required ? 'Choose…' : 'Not set'}</option>}
        {(field.options ?? []).map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    );
  } else if (field.type === 'number') {
    control = <input {...common} type="text" inputMode="decimal" autoComplete="off" spellCheck={false} className="input-number" value={text} onChange={(e) => onChange(e.currentTarget.value)} />;
  } else {
    control = <input {...common} type="text" autoComplete="off" spellCheck={false} maxLength={TEXT_MAX_LENGTH} value={text} onChange={(e) => onChange(e.currentTarget.value)} />;
  }
  return (
    <div className="field">
      {label}
      {control}
      {hint}
      {errorText}
    </div>
  );
}

function rangeHint(field: SettingField): string | undefined {
  if (field.min !== undefined && field.max !== undefined) return `From ${field.min} to ${field.max}.`;
  if (field.min !== undefined) return `At least ${field.min}.`;
  if (field.max !== undefined) return `At most ${field.max}.`;
  return undefined;
}

function emptyHint(field: SettingField): string | undefined {
  if (field.default === undefined || field.default === '') return undefined;
  // Empty is "not set" for numbers and required text: the default applies.
  if (field.type === 'number' || field.required) return 'Leave empty to use the default.';
  return undefined;
}
