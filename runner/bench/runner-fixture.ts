/**
 * What a runner under bench needs, in a temp folder: a bundle store holding samples/hello, an
 * execution-token signer and its JWKS, a local keyring; and `startRunnerProcess`, the
 * stand-alone runner (`runner/src/main.ts`) as an operator runs it (NODE_ENV=production,
 * configured only through its environment).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateExecutionSigningKey, type ExecutionSigningKey } from '@alga-psa/extension-contracts';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { createSecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';
import type { JWK } from 'jose';
import { sampleBundle } from '../../test-setup/samples.ts';
import { startProcess } from '../../test-setup/bench/measure.ts';
import { repoRoot } from '../../test-setup/bench/paths.ts';
import { childUsage, type UsageProbe } from '../../test-setup/bench/process-usage.ts';
import type { ExecuteTarget } from './execute-requests.ts';

export interface RunnerFixture {
  dir: string;
  bundleDir: string;
  bundleStore: FileBundleStore;
  signer: ExecutionSigningKey & { publicJwk: JWK };
  jwksFile: string;
  keyringFile: string;
  helloHash: string;
  /** samples/hello for one install, as the gateway would address it. */
  helloTarget(installId?: string): ExecuteTarget;
  close(): Promise<void>;
}

export async function createRunnerFixture(): Promise<RunnerFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'alga-bench-runner-'));
  const bundleDir = join(dir, 'bundles');
  const bundleStore = new FileBundleStore(bundleDir);
  const helloHash = await bundleStore.put((await sampleBundle('hello')).bytes);
  const signer = await generateExecutionSigningKey('bench');
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [signer.publicJwk] }));
  // Production refuses to create a keyring: it is made here, as an operator would provision it.
  const keyringFile = join(dir, 'keyring.json');
  await createSecretCipher({ backend: 'local', keyringFile, createIfMissing: true });
  return {
    dir, bundleDir, bundleStore, signer, jwksFile, keyringFile, helloHash,
    helloTarget: (installId = 'bench-install') => ({ tenantId: 'bench-tenant', installId, extensionId: 'bench-ext', versionId: 'v1', contentHash: helloHash, path: '/hello', config: { greeting: 'Hi' } }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface RunnerProcess {
  url: string;
  pid: number;
  usage: UsageProbe;
  stop(): Promise<void>;
}

export async function startRunnerProcess(fixture: RunnerFixture, env: Record<string, string> = {}): Promise<RunnerProcess> {
  const started = await startProcess(join(repoRoot, 'runner/src/main.ts'), {
    NODE_ENV: 'production',
    RUNNER_HOST: '127.0.0.1',
    RUNNER_PORT: '0',
    BUNDLE_STORE_DIR: fixture.bundleDir,
    // The repo's transpile cache (shared with the tests): cold start is its own scenario.
    RUNNER_CACHE_DIR: join(repoRoot, '.alga-cache', 'transpile'),
    RUNNER_TRUSTED_KEYS: fixture.jwksFile,
    ALGA_SECRETS_BACKEND: 'local',
    ALGA_KEYRING_FILE: fixture.keyringFile,
    LOG_LEVEL: 'info',
    ...env,
  }, /"msg":"runner listening".*"url":"(http:\/\/[^"]+)"|"url":"(http:\/\/[^"]+)".*"msg":"runner listening"/, { cwd: fixture.dir, cleanEnv: true });
  const pid = started.child.pid!;
  return { url: started.match[1] ?? started.match[2], pid, usage: childUsage([pid], 'runner process'), stop: started.stop };
}
