import { describe, expect, it } from 'vitest';
import {
  checkSettingValue,
  defaultConfig,
  jsonPath,
  secretKeys,
  settingsSchema,
  validateConfig,
  validateSecretKeys,
} from '../src/settings.ts';
import type { SettingField } from '../src/settings.ts';

const settings: SettingField[] = settingsSchema.parse([
  { key: 'baseUrl', label: 'Base URL', type: 'text', required: true, default: 'https://api.example.com', pattern: 'https://.+' },
  { key: 'code', label: 'Code', type: 'text', pattern: '[A-Z]{3}' },
  { key: 'title', label: 'Title', type: 'text', required: true },
  { key: 'notes', label: 'Notes', type: 'textarea' },
  { key: 'retries', label: 'Retries', type: 'number', default: 3, min: 0, max: 10 },
  { key: 'ratio', label: 'Ratio', type: 'number' },
  { key: 'enabled', label: 'Enabled', type: 'boolean', default: true },
  { key: 'verbose', label: 'Verbose', type: 'boolean' },
  { key: 'mode', label: 'Mode', type: 'select', options: [{ value: 'fast', label: 'Fast' }, { value: 'safe', label: 'Safe' }], default: 'fast' },
  { key: 'region', label: 'Region', type: 'select', options: [{ value: 'eu', label: 'EU' }, { value: 'us', label: 'US' }], required: true },
  { key: 'apiKey', label: 'API key', type: 'secret', required: true },
  { key: 'webhook.secret', label: 'Webhook secret', type: 'secret' },
]);

/** The smallest valid input for `settings`: the required fields without a default. */
const required = () => ({ title: 'T', region: 'eu' });

function issues(input: unknown): Array<{ path: string; message: string }> {
  const r = validateConfig(settings, input);
  if (r.ok) throw new Error(`expected the config to be rejected: ${JSON.stringify(r.config)}`);
  return r.issues.map(({ path, message }) => ({ path, message }));
}
const paths = (input: unknown) => issues(input).map((i) => i.path);

describe('defaultConfig', () => {
  it('holds the non-secret fields that have a default, and nothing else', () => {
    expect(defaultConfig(settings)).toEqual({ baseUrl: 'https://api.example.com', retries: 3, enabled: true, mode: 'fast' });
  });
  it('is empty for no settings', () => {
    expect(defaultConfig([])).toEqual({});
  });
});

describe('validateConfig: shape', () => {
  it('accepts the required fields and fills every missing optional field that has a default', () => {
    expect(validateConfig(settings, required())).toEqual({
      ok: true,
      config: { baseUrl: 'https://api.example.com', title: 'T', retries: 3, enabled: true, mode: 'fast', region: 'eu' },
    });
  });
  it('keeps provided values over defaults and leaves optional fields without default absent', () => {
    const r = validateConfig(settings, { ...required(), retries: 0, enabled: false, notes: 'n', code: 'ABC', ratio: -1.5, verbose: false });
    expect(r).toEqual({
      ok: true,
      config: { baseUrl: 'https://api.example.com', code: 'ABC', title: 'T', notes: 'n', retries: 0, ratio: -1.5, enabled: false, verbose: false, mode: 'fast', region: 'eu' },
    });
  });
  it('rejects input that is not a JSON object at $', () => {
    for (const input of [null, undefined, 'x', 3, [], [required()], new Date()]) expect(paths(input)).toEqual(['$']);
  });
  it('rejects unknown keys at $.<key>', () => {
    expect(paths({ ...required(), colour: 'red' })).toEqual(['$.colour']);
    expect(issues({ ...required(), colour: 'red' })[0].message).toMatch(/unknown setting "colour"/);
  });
  it('rejects a __proto__ key from JSON as unknown without touching the prototype', () => {
    const input = JSON.parse('{"title":"T","region":"eu","__proto__":{"polluted":true}}');
    expect(paths(input)).toEqual(['$.__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('rejects secret-typed keys and says to use the secrets API', () => {
    expect(issues({ ...required(), apiKey: 'hunter2' })).toEqual([{ path: '$.apiKey', message: expect.stringMatching(/secrets API/) }]);
  });
  it('bracket-quotes keys that are not identifiers in the path and names the key', () => {
    const r = validateConfig(settings, { ...required(), 'webhook.secret': 'x' });
    expect(r).toMatchObject({ ok: false, issues: [{ path: '$["webhook.secret"]', key: 'webhook.secret' }] });
  });
  it('reports every issue, not only the first', () => {
    expect(paths({ colour: 1, retries: 'x' })).toEqual(['$.colour', '$.title', '$.retries', '$.region']);
  });
});

describe('validateConfig: required', () => {
  it('rejects a missing required field without a default', () => {
    expect(issues({ region: 'eu' })).toEqual([{ path: '$.title', message: '"title" is required' }]);
  });
  it('a required field with a default may be omitted (the default applies)', () => {
    const r = validateConfig(settings, required());
    expect(r.ok && r.config.baseUrl).toBe('https://api.example.com');
  });
  it('null means not set: the default applies, or a required field is missing', () => {
    const r = validateConfig(settings, { ...required(), retries: null, notes: null });
    expect(r.ok && r.config.retries).toBe(3);
    expect(r.ok && 'notes' in r.config).toBe(false);
    expect(paths({ ...required(), title: null })).toEqual(['$.title']);
  });
  it('an empty string does not satisfy a required text or select field', () => {
    expect(paths({ ...required(), title: '' })).toEqual(['$.title']);
    expect(paths({ ...required(), region: '' })).toEqual(['$.region']);
  });
  it('an empty string on an optional text field is a value (still checked against its pattern)', () => {
    const r = validateConfig(settings, { ...required(), notes: '' });
    expect(r.ok && r.config.notes).toBe('');
    expect(paths({ ...required(), code: '' })).toEqual(['$.code']);
  });
});

describe('validateConfig: types and constraints', () => {
  it('text must be a string of at most 4096 characters', () => {
    expect(paths({ ...required(), title: 42 })).toEqual(['$.title']);
    expect(validateConfig(settings, { ...required(), title: 'x'.repeat(4096) }).ok).toBe(true);
    expect(paths({ ...required(), title: 'x'.repeat(4097) })).toEqual(['$.title']);
  });
  it('textarea must be a string of at most 65536 characters', () => {
    expect(validateConfig(settings, { ...required(), notes: 'x'.repeat(65536) }).ok).toBe(true);
    expect(paths({ ...required(), notes: 'x'.repeat(65537) })).toEqual(['$.notes']);
    expect(paths({ ...required(), notes: ['x'] })).toEqual(['$.notes']);
  });
  it('text pattern must match the whole value', () => {
    expect(validateConfig(settings, { ...required(), code: 'ABC' }).ok).toBe(true);
    expect(paths({ ...required(), code: 'xABCx' })).toEqual(['$.code']);
    expect(paths({ ...required(), code: 'ABCD' })).toEqual(['$.code']);
    expect(issues({ ...required(), code: 'ab' })[0].message).toMatch(/pattern/);
  });
  it('a pattern with alternation still needs a full match', () => {
    const f = settingsSchema.parse([{ key: 'c', label: 'C', type: 'text', pattern: 'a|b' }]);
    expect(validateConfig(f, { c: 'a' }).ok).toBe(true);
    expect(validateConfig(f, { c: 'ab' }).ok).toBe(false);
  });
  it('number must be a finite number (not a numeric string) within min and max', () => {
    expect(paths({ ...required(), retries: '3' })).toEqual(['$.retries']);
    expect(paths({ ...required(), ratio: Number.NaN })).toEqual(['$.ratio']);
    expect(paths({ ...required(), ratio: Number.POSITIVE_INFINITY })).toEqual(['$.ratio']);
    expect(paths({ ...required(), retries: -1 })).toEqual(['$.retries']);
    expect(paths({ ...required(), retries: 11 })).toEqual(['$.retries']);
    expect(validateConfig(settings, { ...required(), retries: 10 }).ok).toBe(true);
    expect(validateConfig(settings, { ...required(), retries: 0 }).ok).toBe(true);
    expect(validateConfig(settings, { ...required(), ratio: 1e300 }).ok).toBe(true);
  });
  it('boolean must be a boolean', () => {
    for (const v of ['true', 1, 0, 'false']) expect(paths({ ...required(), verbose: v })).toEqual(['$.verbose']);
  });
  it('select value must be one of the option values', () => {
    expect(validateConfig(settings, { ...required(), mode: 'safe' }).ok).toBe(true);
    expect(paths({ ...required(), mode: 'Safe' })).toEqual(['$.mode']);
    expect(paths({ ...required(), mode: 'turbo' })).toEqual(['$.mode']);
    expect(paths({ ...required(), mode: 1 })).toEqual(['$.mode']);
    expect(issues({ ...required(), region: 'asia' })[0].message).toMatch(/"eu", "us"/);
  });
  it('checkSettingValue reports a problem or undefined', () => {
    const n = settings.find((f) => f.key === 'retries')!;
    expect(checkSettingValue(n, 5)).toBeUndefined();
    expect(checkSettingValue(n, 50)).toBe('must be <= 10');
  });
});

describe('secrets', () => {
  it('secretKeys lists the secret-typed keys in declaration order', () => {
    expect(secretKeys(settings)).toEqual(['apiKey', 'webhook.secret']);
    expect(secretKeys([])).toEqual([]);
  });
  it('validateSecretKeys accepts only keys declared as type: secret', () => {
    expect(validateSecretKeys(settings, ['apiKey', 'webhook.secret'])).toEqual({ ok: true });
    expect(validateSecretKeys(settings, [])).toEqual({ ok: true });
  });
  it('validateSecretKeys rejects undeclared keys and non-secret settings, naming each', () => {
    const r = validateSecretKeys(settings, ['apiKey', 'nope', 'title']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual(['$.nope', '$.title']);
    expect(r.issues[0].message).toMatch(/not a setting declared/);
    expect(r.issues[1].message).toMatch(/not a secret setting/);
  });
});

describe('jsonPath', () => {
  it('renders identifiers with dots, indexes with brackets and other keys quoted', () => {
    expect(jsonPath([])).toBe('$');
    expect(jsonPath(['settings', 2, 'default'])).toBe('$.settings[2].default');
    expect(jsonPath(['a.b', 'x-y'])).toBe('$["a.b"]["x-y"]');
  });
});
