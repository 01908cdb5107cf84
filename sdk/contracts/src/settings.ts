/**
 * Manifest `settings` (DESIGN.md §4): the schema of one setting field, and validation of an
 * install's config against a manifest's settings (used by `PUT /api/v1/installs/:id/settings`,
 * the CLI and the web UI).
 *
 * Conventions:
 * - `options` (select only) is an array of objects `{ value: string, label: string }`; the bare-string
 *   form is NOT accepted. A select's value (and default) is one of the option `value`s.
 * - `pattern` (text only) is compiled with the `u` flag and must match the WHOLE value
 *   (`^(?:pattern)$`), like the HTML `pattern` attribute.
 * - `type: secret` fields are stored as secrets, never in config: they never have a `default`, and
 *   `validateConfig` rejects them (they are set through the secrets API, see `validateSecretKeys`).
 * - In `validateConfig`, a `null` value means "not set" (the default applies; a required field
 *   without a default is then reported as missing). For required text/textarea/select fields the
 *   empty string also counts as missing.
 *
 * @example
 *   const r = validateConfig(manifest.settings, body);
 *   if (!r.ok) throw new AlgaError('E_VALIDATION', 'invalid settings', { issues: r.issues });
 *   await saveConfig(installId, r.config);
 */
import { z } from 'zod';

/** One validation problem; `path` is a JSON path such as `$.settings[2].default` or `$.apiKey`. */
export interface Issue {
  path: string;
  message: string;
}

/** A config/secret issue also names the setting key (paths bracket-quote keys such as `a.b`: `$["a.b"]`). */
export interface SettingIssue extends Issue {
  key?: string;
}

export const settingTypes = ['text', 'textarea', 'number', 'boolean', 'select', 'secret'] as const;
export type SettingType = (typeof settingTypes)[number];

export const SETTING_KEY_RE = /^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/;
/** Maximum length of a `text` value (and default). */
export const TEXT_MAX_LENGTH = 4096;
/** Maximum length of a `textarea` value (and default). */
export const TEXTAREA_MAX_LENGTH = 65536;
/** Maximum length of a `pattern` source. */
export const PATTERN_MAX_LENGTH = 1024;

/** `$` + segments → `$.settings[2].default`; keys that are not identifiers are bracket-quoted. */
export function jsonPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = '$';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** Compile a `pattern` for full-value matching; throws SyntaxError when it does not compile. */
export function compileSettingPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'u');
}

const selectOptionSchema = z.strictObject(
  {
    value: z.string().max(256),
    label: z.string().min(1).max(256),
  },
  {
    error: (iss) =>
      iss.code === 'invalid_type' ? 'an option must be an object { value, label } (bare strings are not accepted)' : undefined,
  },
);
export type SelectOption = z.infer<typeof selectOptionSchema>;

/**
 * One entry of `settings`. A single strict object; which optional fields a type may carry is
 * checked in the refinement (options: select; min/max: number; pattern: text), as is `default`.
 */
export const settingFieldSchema = z
  .strictObject({
    key: z.string().regex(SETTING_KEY_RE, {
      error: 'must match [a-zA-Z][a-zA-Z0-9_.-]{0,63}',
    }),
    label: z.string().trim().min(1, { error: 'must not be empty' }).max(200),
    type: z.enum(settingTypes, {
      error: (iss) =>
        `unknown setting type ${JSON.stringify(iss.input)} (expected one of ${settingTypes.join(', ')})`,
    }),
    required: z.boolean().optional(),
    default: z.union([z.string(), z.number(), z.boolean()], {
      error: 'must be a string, a number or a boolean',
    }).optional(),
    options: z.array(selectOptionSchema).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    pattern: z.string().max(PATTERN_MAX_LENGTH).optional(),
    description: z.string().max(2000).optional(),
    group: z.string().min(1).max(200).optional(),
    /** Secret settings only: the origins placeholder substitution may send the value to (default: http.allowedHosts). */
    hosts: z.array(z.string()).min(1, { error: 'must list at least one origin (omit it to allow every http.allowedHosts entry)' }).max(50).optional(),
  })
  .superRefine((field, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (field.options !== undefined && field.type !== 'select') issue(['options'], 'options are only allowed on select settings');
    if (field.min !== undefined && field.type !== 'number') issue(['min'], 'min is only allowed on number settings');
    if (field.max !== undefined && field.type !== 'number') issue(['max'], 'max is only allowed on number settings');
    if (field.pattern !== undefined && field.type !== 'text') issue(['pattern'], 'pattern is only allowed on text settings');
    if (field.hosts !== undefined && field.type !== 'secret') issue(['hosts'], 'hosts are only allowed on secret settings');

    if (field.type === 'select') {
      if (!field.options || field.options.length === 0) issue(['options'], 'a select setting needs a non-empty options list');
      else {
        const seen = new Set<string>();
        field.options.forEach((opt, i) => {
          if (seen.has(opt.value)) issue(['options', i, 'value'], `duplicate option value ${JSON.stringify(opt.value)}`);
          seen.add(opt.value);
        });
      }
    }
    if (field.type === 'number' && field.min !== undefined && field.max !== undefined && field.min > field.max) {
      issue(['max'], 'max must be greater than or equal to min');
    }
    if (field.pattern !== undefined) {
      try {
        compileSettingPattern(field.pattern);
      } catch (err) {
        issue(['pattern'], `pattern does not compile as a RegExp: ${(err as Error).message}`);
        return; // cannot check the default against it
      }
    }
    if (field.default !== undefined) {
      if (field.type === 'secret') issue(['default'], 'a secret setting must not have a default');
      else {
        const problem = checkSettingValue(field, field.default);
        if (problem) issue(['default'], `default ${problem}`);
      }
    }
  });

export type SettingField = z.infer<typeof settingFieldSchema>;
/** The manifest's `settings` list: keys unique. */
export const settingsSchema = z.array(settingFieldSchema).max(200).superRefine((fields, ctx) => {
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    if (seen.has(f.key)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `duplicate setting key ${JSON.stringify(f.key)}` });
    seen.add(f.key);
  });
});

/**
 * Checks one value against a (non-secret) field's type and constraints.
 * Returns undefined when valid, else a message fragment ("must be a number", ...).
 */
export function checkSettingValue(field: SettingField, value: unknown): string | undefined {
  switch (field.type) {
    case 'text':
    case 'textarea': {
      if (typeof value !== 'string') return 'must be a string';
      const max = field.type === 'text' ? TEXT_MAX_LENGTH : TEXTAREA_MAX_LENGTH;
      if (value.length > max) return `must be at most ${max} characters`;
      // PostgreSQL's jsonb cannot hold U+0000, and no setting needs it: refused here, by name.
      if (value.includes('\u0000')) return 'must not contain NUL characters';
      if (field.type === 'text' && field.pattern !== undefined) {
        let re: RegExp;
        try {
          re = compileSettingPattern(field.pattern);
        } catch {
          return 'cannot be checked: the pattern does not compile';
        }
        if (!re.test(value)) return `must match the pattern ${field.pattern}`;
      }
      return undefined;
    }
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
      if (field.min !== undefined && value < field.min) return `must be >= ${field.min}`;
      if (field.max !== undefined && value > field.max) return `must be <= ${field.max}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'select': {
      if (typeof value !== 'string') return 'must be a string (one of the option values)';
      const values = (field.options ?? []).map((o) => o.value);
      return values.includes(value) ? undefined : `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    case 'secret':
      return 'is a secret; set it through the secrets API';
  }
}

/** Non-secret fields that have a default, as a config object. */
export function defaultConfig(settings: readonly SettingField[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of settings) if (f.type !== 'secret' && f.default !== undefined) out[f.key] = f.default;
  return out;
}

export type ValidateConfigResult =
  | { ok: true; config: Record<string, unknown> }
  | { ok: false; issues: SettingIssue[] };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Validate an install's config (the full object, not a patch) against the manifest's settings.
 * The result holds every declared non-secret key that is set or has a default, in declaration order.
 */
export function validateConfig(settings: readonly SettingField[], input: unknown): ValidateConfigResult {
  if (!isPlainObject(input)) return { ok: false, issues: [{ path: '$', message: 'config must be a JSON object' }] };
  const issues: SettingIssue[] = [];
  const byKey = new Map(settings.map((f) => [f.key, f]));

  for (const key of Object.keys(input)) {
    const field = byKey.get(key);
    if (!field) issues.push({ path: jsonPath([key]), key, message: `unknown setting ${JSON.stringify(key)}` });
    else if (field.type === 'secret') {
      issues.push({ path: jsonPath([key]), key, message: `${JSON.stringify(key)} is a secret; set it through the secrets API, not in config` });
    }
  }

  const config: Record<string, unknown> = {};
  for (const field of settings) {
    if (field.type === 'secret') continue;
    let value = Object.hasOwn(input, field.key) ? input[field.key] : undefined;
    if (value === null) value = undefined; // null clears the value
    if (value === '' && field.required && (field.type === 'text' || field.type === 'textarea' || field.type === 'select')) {
      value = undefined; // an empty string does not satisfy `required`
    }
    if (value === undefined) {
      if (field.default !== undefined) config[field.key] = field.default;
      else if (field.required) issues.push({ path: jsonPath([field.key]), key: field.key, message: `${JSON.stringify(field.key)} is required` });
      continue;
    }
    const problem = checkSettingValue(field, value);
    if (problem) issues.push({ path: jsonPath([field.key]), key: field.key, message: `${JSON.stringify(field.key)} ${problem}` });
    else config[field.key] = value;
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config };
}

/** Keys of the `type: secret` settings, in declaration order. */
export function secretKeys(settings: readonly SettingField[]): string[] {
  return settings.filter((f) => f.type === 'secret').map((f) => f.key);
}

/** Only keys declared as `type: secret` may be set through the secrets API. */
export function validateSecretKeys(
  settings: readonly SettingField[],
  keys: readonly string[],
): { ok: true } | { ok: false; issues: SettingIssue[] } {
  const byKey = new Map(settings.map((f) => [f.key, f]));
  const issues: SettingIssue[] = [];
  for (const key of keys) {
    const field = byKey.get(key);
    if (!field) issues.push({ path: jsonPath([key]), key, message: `${JSON.stringify(key)} is not a setting declared by the manifest` });
    else if (field.type !== 'secret') {
      issues.push({ path: jsonPath([key]), key, message: `${JSON.stringify(key)} is not a secret setting; set it through the settings API` });
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true };
}
