/**
 * The execute body (DESIGN.md §5) the proxy sends the runner, as JSON text. Its `install` and
 * `secrets` sections depend only on the install's runtime view, which the install-config cache
 * hands out as one object until the install changes: they are serialised, and their `bdg`
 * digest (`executeBodyDigest`, a canonical-JSON sha256) computed, once per such object instead
 * of on every request (measured: canonicalJson was the gateway's largest own cost per request
 * after the database). The token binds the sections exactly as sent: the runner digests them as
 * parsed from this very text, and canonical JSON is the same for a value and its JSON round trip.
 *
 * @example
 *   const prepared = preparedInstall(runtime);
 *   const token = await executionKeys.mint({ ...context, bodyDigest: prepared.bodyDigest, capabilities: prepared.capabilities }, deadlineMs);
 *   await runner.execute(token, executeBodyJson(prepared, { context, request, limits }), timeoutMs, headers);
 */
import { effectiveCapabilities, executeBodyDigest, type ExecuteBody } from '@alga-psa/extension-contracts';
import type { InstallRuntime } from '../installs/install-service.ts';

export interface PreparedInstall {
  installJson: string;
  secretsJson: string;
  /** `executeBodyDigest` of the two sections above. */
  bodyDigest: string;
  /** What the execution token's `caps` carry: declared by the manifest and granted. */
  capabilities: string[];
}

const prepared = new WeakMap<InstallRuntime, PreparedInstall>();

export function preparedInstall(runtime: InstallRuntime): PreparedInstall {
  let entry = prepared.get(runtime);
  if (!entry) {
    const install: ExecuteBody['install'] = {
      config: runtime.config, configVersion: runtime.configVersion, grantedCapabilities: runtime.grantedCapabilities,
      httpAllowedHosts: runtime.httpAllowedHosts, storageNamespaces: runtime.storageNamespaces, uiProxyRoutes: runtime.uiProxyRoutes,
    };
    const secrets: ExecuteBody['secrets'] = { secretsVersion: runtime.secretsVersion, envelope: runtime.secretEnvelope };
    // Serialised first and digested from the text's parse: the digest covers exactly what is sent,
    // even if a value in the runtime view had a toJSON or an undefined member.
    const installJson = JSON.stringify(install);
    const secretsJson = JSON.stringify(secrets);
    entry = {
      installJson, secretsJson,
      bodyDigest: executeBodyDigest({ install: JSON.parse(installJson), secrets: JSON.parse(secretsJson) }),
      capabilities: [...effectiveCapabilities(runtime.manifest.capabilities, runtime.grantedCapabilities)],
    };
    prepared.set(runtime, entry);
  }
  return entry;
}

/** The whole body as JSON text: the per-request sections serialised, the install's spliced in. */
export function executeBodyJson(install: PreparedInstall, body: Pick<ExecuteBody, 'context' | 'request' | 'limits'>): string {
  return `{"context":${JSON.stringify(body.context)},"request":${JSON.stringify(body.request)},"install":${install.installJson},"secrets":${install.secretsJson},"limits":${JSON.stringify(body.limits)}}`;
}
