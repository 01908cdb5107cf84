/**
 * The settings form's model, on top of the shared contract (`@alga-psa/extension-contracts/settings`,
 * the same module `PUT /api/v1/installs/:id/settings` validates with):
 *
 * - A draft holds what the inputs show: strings for text, textarea, select and number (the
 *   number's raw text, so "12a" stays visible and is reported), booleans for checkboxes, and
 *   `undefined` for "not set" (the manifest's default applies).
 * - `toConfig(fields, draft)` makes the full config object the API takes; `validateConfig` on it
 *   gives exactly the issues the gateway would report, and `issuesByKey` puts them at their field.
 * - Secret fields never enter a draft: they are write-only inputs (see `SecretsSection.tsx`).
 */
import { validateConfig, type SettingField, type SettingIssue } from '@alga-psa/extension-contracts/settings';
import type { SecretsMetadata } from './types.ts';

export type DraftValue = string | boolean | undefined;
export type Draft = Record<string, DraftValue>;

export const configFields = (fields: readonly SettingField[]) => fields.filter((f) => f.type !== 'secret');
export const secretFields = (fields: readonly SettingField[]) => fields.filter((f) => f.type === 'secret');

/** The inputs' values for a stored config. */
export function toDraft(fields: readonly SettingField[], config: Record<string, unknown>): Draft {
  const draft: Draft = {};
  for (const f of configFields(fields)) {
    const value = config[f.key] ?? f.default;
    if (value === undefined || value === null) draft[f.key] = f.type === 'boolean' ? undefined : '';
    else if (f.type === 'boolean') draft[f.key] = value === true;
    else draft[f.key] = typeof value === 'string' ? value : String(value);
  }
  return draft;
}

const decimal = /^\s*-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

/** One input's value as the API takes it; `undefined` = not set (omitted, the default applies). */
export function toValue(field: SettingField, raw: DraftValue): unknown {
  if (raw === undefined) return undefined;
  switch (field.type) {
    case 'boolean':
      return raw === true;
    case 'number':
      if (typeof raw !== 'string' || raw.trim() === '') return undefined;
      // Not a plain decimal ("12a", "0x10"): NaN, which the shared check reports as not a number.
      return decimal.test(raw) ? Number(raw) : Number.NaN;
    case 'select':
      return raw === '' ? undefined : raw;
    default:
      // An empty text without a default is "not set"; with a default, empty is a value of its own.
      return raw === '' && field.default === undefined ? undefined : raw;
  }
}

/** The full config object for `PUT /settings` (unset keys are omitted). */
export function toConfig(fields: readonly SettingField[], draft: Draft): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const f of configFields(fields)) {
    const value = toValue(f, draft[f.key]);
    if (value !== undefined) config[f.key] = value;
  }
  return config;
}

/** Did the inputs change what would be saved? Compared as the gateway stores it (unset and "missing" are the default). */
export function configDirty(fields: readonly SettingField[], draft: Draft, saved: Record<string, unknown>): boolean {
  const next = toConfig(fields, draft);
  return configFields(fields).some((f) => !Object.is(effective(f, next[f.key]), effective(f, saved[f.key])));
}

/** validateConfig's reading of one value: null/absent, and '' for a required text or select, mean the default. */
function effective(field: SettingField, value: unknown): unknown {
  if (value === undefined || value === null) return field.default;
  if (value === '' && field.required && (field.type === 'text' || field.type === 'textarea' || field.type === 'select')) return field.default;
  return value;
}

/** Issues of the draft, by setting key: the shared `validateConfig`, exactly what the gateway checks. */
export function validateDraft(fields: readonly SettingField[], draft: Draft): Map<string, string> {
  const result = validateConfig(fields, toConfig(fields, draft));
  return result.ok ? new Map() : issuesByKey(fields, result.issues);
}

/** Issues (ours or the gateway's `details.issues`) as one message per field; others under ''. */
export function issuesByKey(fields: readonly SettingField[], issues: readonly SettingIssue[]): Map<string, string> {
  const known = new Set(fields.map((f) => f.key));
  const byKey = new Map<string, string>();
  for (const issue of issues) {
    const key = issue.key !== undefined && known.has(issue.key) ? issue.key : '';
    const message = humanize(issue.message, issue.key);
    byKey.set(key, byKey.has(key) ? `${byKey.get(key)} ${message}` : message);
  }
  return byKey;
}

/**
 * The contract's messages name the key (`"cacheSeconds" must be <= 86400`); next to the field
 * the key is redundant: `Must be <= 86400.`
 */
export function humanize(message: string, key?: string): string {
  let text = message.trim();
  if (key !== undefined) {
    const quoted = JSON.stringify(key);
    if (text.startsWith(`${quoted} `)) text = text.slice(quoted.length + 1);
  }
  if (text === 'is required') return 'This setting is required.';
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

export interface Group {
  id: string;
  title: string;
  fields: SettingField[];
}

/**
 * Non-secret fields in sections: by their `group` (in order of first appearance); ungrouped fields
 * come first, as "General" when there are groups and as one "Configuration" section when there
 * are none.
 */
export function groupFields(fields: readonly SettingField[]): Group[] {
  const groups: Group[] = [];
  const byName = new Map<string, Group>();
  const ungrouped: SettingField[] = [];
  for (const f of configFields(fields)) {
    if (!f.group) { ungrouped.push(f); continue; }
    let g = byName.get(f.group);
    if (!g) { g = { id: `group-${byName.size + 1}`, title: f.group, fields: [] }; byName.set(f.group, g); groups.push(g); }
    g.fields.push(f);
  }
  if (ungrouped.length > 0) groups.unshift({ id: 'group-0', title: groups.length > 0 ? 'General' : 'Configuration', fields: ungrouped });
  return groups;
}

/** A value for people: select labels, On/Off, "Not set". */
export function displayValue(field: SettingField, value: unknown): string {
  if (value === undefined || value === null) return 'Not set';
  if (field.type === 'boolean') return value === true ? 'On' : 'Off';
  if (field.type === 'select') return field.options?.find((o) => o.value === value)?.label ?? String(value);
  if (value === '') return 'Empty';
  return String(value);
}

/** "Default: …" for the hint; undefined when the field has none. */
export function defaultHint(field: SettingField): string | undefined {
  if (field.default === undefined || field.default === '') return undefined;
  return `Default: ${displayValue(field, field.default)}`;
}

/** The secrets metadata after `PUT /secrets` answered (it lists keys only; per-key times are ours). */
export function afterSecretsPut(
  fields: readonly SettingField[],
  before: SecretsMetadata,
  answer: { secretsVersion: number; keys: string[]; updatedAt: string },
  setKeys: readonly string[],
): SecretsMetadata {
  const previous = new Map(before.keys.map((k) => [k.key, k.updatedAt]));
  const keys = answer.keys.map((key) => ({ key, updatedAt: setKeys.includes(key) ? answer.updatedAt : previous.get(key) ?? answer.updatedAt }));
  const present = new Set(answer.keys);
  return { secretsVersion: answer.secretsVersion, keys, missing: secretFields(fields).map((f) => f.key).filter((k) => !present.has(k)), updatedAt: answer.updatedAt };
}
