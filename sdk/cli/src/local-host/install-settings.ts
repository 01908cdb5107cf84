/**
 * An install's settings as the local host sees them: config validated against the manifest's
 * `settings` with defaults applied (what the gateway's settings API does), and secrets checked
 * against its `type: secret` keys. `alga component dev` reads them from `.alga/config.json`,
 * `.alga/secrets.json` and `ALGA_SECRET_<KEY>` variables; `loadExtension` takes them as options.
 *
 * @example
 *   const config = resolveConfig(manifest, { cacheSeconds: 30 });      // { greeting: 'Hello', cacheSeconds: 30 }
 *   const secrets = resolveSecrets(manifest, {}, { ALGA_SECRET_API_KEY: 'sk-1' }); // { API_KEY: 'sk-1' }
 */
import { readFile } from 'node:fs/promises';
import { secretKeys, validateConfig, validateSecretKeys, type Manifest } from '@alga-psa/extension-contracts';
import { CliError } from '../cli-error.ts';

export function resolveConfig(manifest: Manifest, input: unknown, source = 'config'): Record<string, unknown> {
  const result = validateConfig(manifest.settings, input ?? {});
  if (!result.ok) {
    throw new CliError('E_VALIDATION', `${source} does not match the manifest's settings: ${result.issues.map((i) => i.message).join('; ')}`,
      'fix the value, or change `settings` in manifest.json');
  }
  return result.config;
}

/** `API_KEY` → `ALGA_SECRET_API_KEY`; `apiKey` → `ALGA_SECRET_APIKEY`; `x.y-z` → `ALGA_SECRET_X_Y_Z`. */
export function secretEnvName(key: string): string {
  return `ALGA_SECRET_${key.toUpperCase().replace(/[.-]/g, '_')}`;
}

/** File values, then environment values (the environment wins: handy for one-off runs and CI). */
export function resolveSecrets(manifest: Manifest, fileValues: unknown, env: NodeJS.ProcessEnv = {}, source = 'secrets'): Record<string, string> {
  if (typeof fileValues !== 'object' || fileValues === null || Array.isArray(fileValues)) throw new CliError('E_VALIDATION', `${source} must be a JSON object of secret key → string`);
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(fileValues)) {
    if (typeof value !== 'string') throw new CliError('E_VALIDATION', `${source}: ${key} must be a string`);
    values[key] = value;
  }
  const declared = validateSecretKeys(manifest.settings, Object.keys(values));
  if (!declared.ok) throw new CliError('E_VALIDATION', `${source}: ${declared.issues.map((i) => i.message).join('; ')}`, 'declare it in manifest.json `settings` with "type": "secret"');
  for (const key of secretKeys(manifest.settings)) {
    const fromEnv = env[secretEnvName(key)];
    if (fromEnv !== undefined) values[key] = fromEnv;
  }
  return values;
}

/** A JSON file's content, or `fallback` when it does not exist. */
export async function readJsonFile(path: string, fallback: unknown): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw new CliError('E_VALIDATION', `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse quotes the input, and this may be the secrets file.
    throw new CliError('E_VALIDATION', `${path} is not valid JSON`, 'fix the file (it must be one JSON object)');
  }
}
