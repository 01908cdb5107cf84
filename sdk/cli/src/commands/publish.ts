/**
 * `alga component publish [dir] --gateway URL --key-id ID --key FILE [--install --api-key KEY [--consent]]`:
 * builds and packs when needed, signs, uploads to `POST /api/v1/registry/publish`, and with
 * `--install` installs the version for the API key's tenant (or upgrades an existing install).
 * Every gateway refusal is printed with what to do next.
 */
import { signBundle } from '@alga-psa/extension-contracts';
import { CliError } from '../cli-error.ts';
import type { Output } from '../output.ts';
import { packProject } from './pack.ts';
import { loadProject } from './project.ts';
import { readPrivateKey } from './sign.ts';

export interface PublishOptions {
  gateway?: string;
  keyId?: string;
  key?: string;
  install?: boolean;
  apiKey?: string;
  consent?: boolean;
  typecheck?: boolean;
}

/** What to do next, per gateway error code. */
const nextSteps: Record<string, string> = {
  E_UNDECLARED_IMPORT: 'add the capability the import needs to manifest.json "capabilities", or stop using that ctx API',
  E_VERSION_EXISTS: 'versions are immutable: bump "version" in manifest.json and publish again',
  E_BUNDLE_TOO_LARGE: 'make the bundle smaller (UI assets, dependencies), or ask the operator about ALGA_MAX_BUNDLE_BYTES',
  E_SIGNATURE_INVALID: 'sign with the private key whose public key is registered under --key-id',
  E_AUTH: 'check that --key-id is registered for your publisher and not revoked (or, for --install, that --api-key is valid)',
  E_PUBLISHER_MISMATCH: 'set "publisher" in manifest.json to the publisher your key is registered under',
  E_NAME_RESERVED: 'choose a name under your own reverse-DNS domain (e.g. com.yourcompany.thing)',
  E_FORBIDDEN: 'that name belongs to another publisher (or your API key lacks extension:admin): choose another name or key',
  E_MANIFEST_INVALID: 'fix manifest.json at the path named in the message',
  E_BUNDLE_INVALID: 'rebuild with `alga component build` and publish the bundle it packs',
  E_CONSENT_REQUIRED: 'review what the new version asks for (listed above), then run again with --consent',
};

function need(value: string | undefined, flag: string, hint: string): string {
  if (!value) throw new CliError('E_USAGE', `publish needs ${flag}`, hint);
  return value;
}

async function call(url: string, init: RequestInit): Promise<{ status: number; body: any }> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    const why = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new CliError('E_GATEWAY_UNREACHABLE', `cannot reach ${new URL(url).origin}: ${why}`, 'check --gateway (e.g. http://127.0.0.1:8080) and that the gateway is running');
  }
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body };
}

function gatewayError(what: string, answer: { status: number; body: any }): CliError {
  const error = answer.body?.error as { code?: string; message?: string; details?: unknown } | undefined;
  const code = error?.code ?? `E_HTTP_${answer.status}`;
  return new CliError(code, `${what} refused (${answer.status} ${code}): ${error?.message ?? String(answer.body).slice(0, 200)}`, nextSteps[code], error?.details);
}

export async function publishCommand(dir: string | undefined, opts: PublishOptions, out: Output): Promise<void> {
  const gateway = need(opts.gateway, '--gateway <url>', 'e.g. --gateway http://127.0.0.1:8080').replace(/\/+$/, '');
  const keyId = need(opts.keyId, '--key-id <id>', 'the key id your operator registered your public key under');
  const keyPem = await readPrivateKey(need(opts.key, '--key <file>', 'the private key file from `alga keys generate`'));
  if (opts.install && !opts.apiKey) throw new CliError('E_USAGE', '--install needs --api-key <tenant admin API key>', 'create one in the admin UI or with POST /api/v1/api-keys');
  const project = await loadProject(dir);
  const packed = await packProject(project, { typecheck: opts.typecheck }, out);
  out.progress(`publishing ${project.manifest.name}@${project.manifest.version} to ${gateway}`);
  const published = await call(`${gateway}/api/v1/registry/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/gzip', 'x-alga-key-id': keyId, 'x-alga-signature': signBundle(packed.bytes, keyPem) },
    body: Buffer.from(packed.bytes),
  });
  if (published.status !== 201) throw gatewayError('publish', published);
  const lines = [`published ${project.manifest.name}@${project.manifest.version} (sha256 ${packed.sha256})`];
  let install: unknown;
  if (opts.install) {
    install = await installOrUpgrade(gateway, opts.apiKey!, project.manifest.name, project.manifest.version, Boolean(opts.consent), out);
    lines.push(`installed for your tenant: install ${(install as { id: string }).id}, version ${(install as { version: string }).version}`);
  }
  out.result({ published: published.body, ...(install ? { install } : {}) }, lines);
}

async function installOrUpgrade(gateway: string, apiKey: string, name: string, version: string, consent: boolean, out: Output): Promise<unknown> {
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const installed = await call(`${gateway}/api/v1/extensions/install`, { method: 'POST', headers, body: JSON.stringify({ extension: name, version }) });
  if (installed.status === 201) return installed.body;
  if (installed.body?.error?.code !== 'E_CONFLICT') throw gatewayError('install', installed);
  const list = await call(`${gateway}/api/v1/installs`, { headers });
  const existing = (list.body?.installs as Array<{ id: string; extensionName: string }> | undefined)?.find((i) => i.extensionName === name);
  if (!existing) throw gatewayError('install', installed);
  out.progress(`${name} is already installed: upgrading install ${existing.id} to ${version}`);
  const upgraded = await call(`${gateway}/api/v1/installs/${existing.id}/upgrade`, { method: 'POST', headers, body: JSON.stringify({ version, consent }) });
  if (upgraded.status === 200) return upgraded.body;
  const err = gatewayError('upgrade', upgraded);
  if (err.code === 'E_CONSENT_REQUIRED') {
    const d = (upgraded.body.error.details ?? {}) as Record<string, string[]>;
    for (const [label, key] of [['capabilities', 'addedCapabilities'], ['outbound hosts', 'addedHosts'], ['ui-proxy routes', 'addedUiProxyRoutes'], ['storage namespaces', 'addedStorageNamespaces'], ['secrets sent to hosts', 'addedSecretUses']] as const) {
      if (d[key]?.length) out.progress(`  new ${label}: ${d[key].join(', ')}`);
    }
  }
  throw err;
}
