/**
 * The runner's secret cache: requests round robin over 100 installs, each with its own
 * Vault-transit envelope (samples/misbehaving's /leak-secret reads its secret and answers
 * {"logged":true} only when it decrypted). Reports hits, misses and the decrypt calls Vault got:
 * one per install and secrets version per TTL is the design. In-process runner, Vault stand-in
 * (test-setup/vault-transit-server.ts) on loopback; each install is called three times before the
 * measured level (c=8), and the counts cover both.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createSecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';
import { createRunner, runnerConfigFromEnv } from '../src/index.ts';
import { sampleBundle } from '../../test-setup/samples.ts';
import { startVaultTransitServer } from '../../test-setup/vault-transit-server.ts';
import { benchPool } from '../../test-setup/bench/http-client.ts';
import { repoRoot } from '../../test-setup/bench/paths.ts';
import { selfUsage } from '../../test-setup/bench/process-usage.ts';
import { measureArms, statusOf, type Step } from '../../test-setup/bench/scenario.ts';
import { createRunnerFixture } from './runner-fixture.ts';
import { executeCall, TokenSupply, type ExecuteTarget } from './execute-requests.ts';

const installs = 100;

export function secretCacheStep(): Step {
  const scenario = { id: 'secret-cache-100-installs', title: `secret read via runner (in-process), ${installs} installs with Vault envelopes`, group: 'runner' as const };
  return {
    name: 'secret cache over 100 installs',
    scenarios: [scenario],
    timeoutMs: 120_000,
    async run(ctx) {
      const fixture = await createRunnerFixture();
      const vault = await startVaultTransitServer();
      try {
        const cipher = await createSecretCipher({ backend: 'vault', endpoint: vault.url, token: vault.rootToken });
        const contentHash = await fixture.bundleStore.put((await sampleBundle('misbehaving')).bytes);
        const runner = await createRunner(runnerConfigFromEnv({}, {
          bundleDir: fixture.bundleDir, cacheDir: join(repoRoot, '.alga-cache', 'transpile'), workers: availableParallelism(), trustedKeys: [fixture.signer.publicJwk], logLevel: 'silent',
        }), { bundleStore: fixture.bundleStore, logger: pino({ level: 'silent' }), secretCipher: cipher });
        const { url } = await runner.listen(0, '127.0.0.1');
        const pool = benchPool(url);
        try {
          const targets: ExecuteTarget[] = [];
          for (let i = 0; i < installs; i++) {
            const installId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
            const sealed = await cipher.encrypt({ tenantId: 'bench-tenant', installId }, { token: `token-${i}` });
            targets.push({ tenantId: 'bench-tenant', installId, extensionId: 'bench-ext', versionId: 'v1', contentHash, path: '/leak-secret', config: {}, capabilities: ['cap:secrets.get'], secrets: { secretsVersion: 1, envelope: { token: sealed.token.ciphertext } } });
          }
          vault.resetCounters();
          const supply = new TokenSupply(fixture.signer, targets);
          const usage = selfUsage('bench process (runner, Vault stand-in and the caller)');
          // Every install a few times first: its first request on each worker makes an instance (tens of
          // ms), which is not what this measures.
          const warmRequests = installs * 3;
          await supply.ensure(warmRequests);
          const warm = executeCall(pool, supply, '"status":200');
          for (let i = 0; i < warmRequests; i += 8) await Promise.all(Array.from({ length: 8 }, () => warm(0)));
          const levels = (await measureArms([{
            id: scenario.id, probe: usage, prepare: (n) => supply.ensure(n),
            // The guest answers {"logged":true} (base64 in the execute answer) only when its secret decrypted.
            call: executeCall(pool, supply, `"bodyB64":"${Buffer.from('{"logged":true}').toString('base64')}"`),
          }], { ...ctx.settings, concurrencies: [8] }, { rounds: 1, expectedRps: 1500 })).get(scenario.id)!;
          const stats = runner.secretCache!.stats();
          return [{
            ...scenario, status: statusOf(levels), cpuCovers: usage.covers, levels,
            facts: { installs, cacheHits: stats.hits, cacheMisses: stats.misses, hitRatePercent: Math.round((stats.hits / Math.max(1, stats.hits + stats.misses)) * 10000) / 100, vaultDecryptCalls: vault.requestCount('transit/decrypt/') },
          }];
        } finally {
          await pool.close();
          await runner.close();
        }
      } finally {
        await vault.close();
        await fixture.close();
      }
    },
  };
}
