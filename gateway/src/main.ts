/**
 * The gateway process.
 *
 * `npm start` (NODE_ENV unset, development or test) is the development setup: the whole stack on
 * embedded defaults — PGlite in ./data/db, the local keyring, the file bundle store, an in-process
 * runner — with generated credentials, the samples built, published and installed for a demo
 * tenant, and an admin credential printed.
 *
 * With NODE_ENV=production nothing is generated, created or seeded: every credential must come
 * from the environment, and a missing one stops start-up (checked before any other work) with a
 * message naming the variable to set.
 *
 * Set DATABASE_URL, RUNNER_URL (external runner), ALGA_SECRETS_BACKEND=vault … to change any part.
 */
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { generatePublisherKey, runtimeMode, signBundle, startupChecks } from '@alga-psa/extension-contracts';
import { createSecretCipher, secretBackendConfigFromEnv } from '@alga-psa/extension-host/secrets/secret-cipher';
import type { CachedBuild } from '@alga-psa/cli/build/build-cache';
import { gatewayConfigFromEnv } from './config.ts';
import { ExecutionKeys } from './proxy/execution-keys.ts';

const samplesDir = fileURLToPath(new URL('../../samples/', import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);

const startup = startupChecks('alga gateway');
const { attempt } = startup;
/** A declaration, not a const arrow: TypeScript narrows after a call only through declared `never` functions. */
function refuseToStart(extra: string[] = []): never {
  return startup.refuse(extra);
}

/** Dev-only secrets that must survive restarts live in the data dir with mode 0600. */
async function persistentSecret(path: string, make: () => string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const value = make();
    await writeFile(path, value, { mode: 0o600 });
    await chmod(path, 0o600);
    return value;
  }
}

// Configuration and credentials first: they are cheap, and a production deployment missing one
// must fail in a second, not after the sample builds and the database.
const mode = attempt(() => runtimeMode(process.env)) ?? refuseToStart();
const development = mode === 'development';
const dataDir = resolve(process.env.ALGA_DATA_DIR ?? './data');
let generated: { operatorToken: string; runnerServiceToken: string } | undefined;
if (development) {
  say(`alga: development setup (NODE_ENV is not "production"): embedded defaults in ${dataDir}, generated credentials, a demo tenant. Not for production.`);
  await mkdir(dataDir, { recursive: true });
  generated = {
    operatorToken: process.env.ALGA_OPERATOR_TOKEN ?? await persistentSecret(join(dataDir, 'operator-token'), () => `op_${randomBytes(24).toString('base64url')}`),
    runnerServiceToken: process.env.ALGA_RUNNER_SERVICE_TOKEN ?? await persistentSecret(join(dataDir, 'runner-service-token'), () => `svc_${randomBytes(24).toString('base64url')}`),
  };
}
const config = attempt(() => gatewayConfigFromEnv(process.env, { dataDir, ...generated }));
// The data-dir keyring is the embedded default (created in development); production needs ALGA_KEYRING_FILE.
const secretsConfig = attempt(() => secretBackendConfigFromEnv(process.env, { keyringFile: join(dataDir, 'keyring.json') }));
if (!config || !secretsConfig) refuseToStart();
const [cipherLoad, keysLoad] = await Promise.allSettled([
  createSecretCipher(secretsConfig),
  ExecutionKeys.load(config.executionKeysFile ?? join(dataDir, 'execution-keys.json'), { createIfMissing: development }),
]);
if (cipherLoad.status === 'rejected' || keysLoad.status === 'rejected') {
  refuseToStart([cipherLoad, keysLoad].flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : [])));
}
const secretCipher = cipherLoad.value;
const executionKeys = keysLoad.value;

// Only now the heavy modules (express, knex, PGlite, the runner): a refusal above costs little more than a Node start.
const [{ createRunner, runnerConfigFromEnv }, { FileBundleStore }, { TranspileCache }, { migrateLatest, openDatabase }, { createGateway }] = await Promise.all([
  import('@alga-psa/runner'), import('@alga-psa/extension-host/component/bundle-store'), import('@alga-psa/extension-host/component/transpile-cache'),
  import('./db/database.ts'), import('./index.ts'),
]);

// Build first: componentize needs ~800 MB of wasm memory, above the runner's ceiling set below.
const samples: CachedBuild[] = [];
if (development) {
  const { buildCached } = await import('@alga-psa/cli/build/build-cache');
  say('alga: building samples (cached in .alga-cache/ after the first start)…');
  for (const name of (await readdir(samplesDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const t = Date.now();
    const build = await buildCached(join(samplesDir, name), { onProgress: (m) => say(`  ${name}: ${m}`) });
    say(`  ${name}: ${build.fromCache ? 'cached' : `built in ${Date.now() - t} ms`}`);
    samples.push(build);
  }
}

// The admin console (gateway/web): content-cached in .alga-cache/admin-web/, so only a changed tree rebuilds.
let adminWebDir: string | undefined;
try {
  const { buildAdminWeb } = await import('../web/build.ts');
  const t = Date.now();
  const built = await buildAdminWeb();
  adminWebDir = built.dir;
  say(`alga: admin console ${built.fromCache ? 'cached' : `built in ${Date.now() - t} ms`}`);
} catch (err) {
  say(`alga: the admin console did not build, /admin/ answers 404 until it does: ${(err as Error).message}`);
}

const db = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : join(dataDir, 'db') });
await migrateLatest(db);
const bundleStore = new FileBundleStore(join(dataDir, 'bundles'));
const transpileCache = new TranspileCache(join(dataDir, 'transpile-cache'));

// RUNNER_URLS (several external runners, routed by content hash) or RUNNER_URL (one); neither: in-process.
let runnerUrl = process.env.RUNNER_URL ?? config.runnerUrls?.[0];
let runner: Awaited<ReturnType<typeof createRunner>> | undefined;
if (!runnerUrl) {
  runner = await createRunner(runnerConfigFromEnv(process.env, {
    bundleDir: join(dataDir, 'bundles'), cacheDir: join(dataDir, 'transpile-cache'), trustedKeys: executionKeys.publicJwks(),
    gatewayUrl: process.env.GATEWAY_URL ?? `http://${config.host}:${config.port}`,
  }), { secretCipher });
  runnerUrl = (await runner.listen()).url;
}
const gateway = await createGateway({ ...config, runnerUrl }, { db, secretCipher, bundleStore, transpileCache, executionKeys, adminWebDir });

const demo = development ? await seedDemo() : undefined;
const { url } = await gateway.listen();
// Key rotation (README "Key rotation"): SIGHUP reads the execution-token keys and the keyring
// again, and the in-process runner trusts the new public keys. A file that does not load changes nothing.
process.on('SIGHUP', () => {
  void (async () => {
    try {
      await gateway.reloadKeys();
      runner?.trustKeys(executionKeys.publicJwks());
    } catch (err) {
      gateway.logger.error({ err: (err as Error).message }, 'SIGHUP: keys not reloaded; the ones in use stay');
    }
  })();
});
// Handlers before the announcement: whoever waits for it may signal at once.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      await gateway.close();
      await runner?.close();
      await db.close();
      process.exit(0);
    })();
  });
}
say('');
say(`alga: gateway  ${url}${development ? '' : ' (production)'}`);
say(`alga: runner   ${runnerUrl}${runner ? ' (in-process)' : ''}`);
say(`alga: database ${db.engine}${config.databaseUrl ? '' : ` (${join(dataDir, 'db')})`}`);
if (adminWebDir) say(`alga: admin    ${config.publicOrigin || url}/admin/${demo ? '  (sign in with the admin API key below)' : ''}`);
if (demo) {
  say(`alga: demo tenant ${demo.tenantId}`);
  say(`alga: admin API key (extension:admin): ${demo.adminKey}`);
  say(`alga: operator token: ${config.operatorToken}`);
  say('');
  say('Try:');
  say(`  curl -s -H "Authorization: Bearer ${demo.adminKey}" ${url}/api/ext/com.alga.samples.hello/hello`);
  say(`  curl -s -H "Authorization: Bearer ${demo.adminKey}" ${url}/api/v1/installs`);
}

/** Development only: one publisher, the samples published, one tenant with every sample installed. */
async function seedDemo(): Promise<{ tenantId: string; adminKey: string }> {
  const demoFile = join(dataDir, 'demo.json');
  let demo = await readFile(demoFile, 'utf8').then((t) => JSON.parse(t) as { tenantId: string; adminKey: string; publisherKeyPem: string }, () => undefined);
  if (!demo) {
    const publisher = await gateway.registry.createPublisher('Alga Samples');
    const key = generatePublisherKey();
    await gateway.registry.addPublisherKey(publisher.id, 'alga-samples-1', key.publicKeyB64);
    // Only the samples' publisher may publish com.alga.* (any other publisher gets E_NAME_RESERVED).
    await gateway.registry.reserveNamePrefix(publisher.id, 'com.alga');
    const tenant = await gateway.createTenant('Demo MSP');
    demo = { tenantId: tenant.tenantId, adminKey: tenant.adminKey, publisherKeyPem: key.privateKeyPem };
    await writeFile(demoFile, JSON.stringify(demo, null, 2), { mode: 0o600 });
  }
  for (const sample of samples) {
    const manifest = sample.manifest as { name: string; version: string };
    const already = await gateway.knex('extension_registry as r').join('extension_version as v', 'v.registry_id', 'r.id')
      .where({ 'r.name': manifest.name, 'v.version': manifest.version }).first('v.id');
    if (!already) await gateway.registry.publish({ bytes: sample.bytes, keyId: 'alga-samples-1', signature: signBundle(sample.bytes, demo.publisherKeyPem) });
    if (!(await gateway.installs.runtime(demo.tenantId, manifest.name))) await gateway.installs.install(demo.tenantId, { extension: manifest.name });
  }
  return demo;
}
