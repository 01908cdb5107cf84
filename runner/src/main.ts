/** Stand-alone runner process: `node runner/src/main.ts` (configuration from the environment, see README). */
import { runtimeMode, startupChecks } from '@alga-psa/extension-contracts';
import { runnerConfigFromEnv } from './config.ts';
import { createSecretCipher, secretBackendConfigFromEnv } from '@alga-psa/extension-host/secrets/secret-cipher';

const startup = startupChecks('alga runner');
const { attempt } = startup;
/** A declaration, not a const arrow: TypeScript narrows after a call only through declared `never` functions. */
function refuseToStart(extra: string[] = []): never {
  return startup.refuse(extra);
}
const config = attempt(() => runnerConfigFromEnv());
// The gateway's variables and rules, so both ends decrypt with the same backend; in production a
// missing keyring or Vault setting stops start-up here rather than answering every read `unavailable`.
const secrets = attempt(() => secretBackendConfigFromEnv(process.env));
if (!config || !secrets) refuseToStart();
const secretCipher = await createSecretCipher(secrets).catch((err: unknown) => refuseToStart([(err as Error).message]));

// Only now the service itself (express, the worker pool): a refusal above costs little more than a Node start.
const { createRunner } = await import('./index.ts');
const runner = await createRunner(config, { secretCipher });
const { url } = await runner.listen();
// Key rotation (README "Key rotation"): SIGHUP reads RUNNER_TRUSTED_KEYS (a file) and the keyring
// again. A file that does not load changes nothing: the keys in use stay.
process.on('SIGHUP', () => {
  void (async () => {
    try {
      const keys = runnerConfigFromEnv().trustedKeys;
      await secretCipher.reload?.();
      runner.trustKeys(keys);
    } catch (err) {
      runner.logger.error({ err: (err as Error).message }, 'SIGHUP: keys not reloaded; the ones in use stay');
    }
  })();
});
// Handlers before the announcement: whoever waits for it may signal at once.
// SIGTERM drains first (RUNNER_DRAIN_MS: /readyz 503, so gateways route elsewhere), then closes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void runner.close({ drainMs: signal === 'SIGTERM' ? config.drainMs : 0 }).then(() => process.exit(0)));
runner.logger.info({ url, mode: runtimeMode(process.env), workers: config.workers, isolation: config.isolation, secrets: secretCipher.algorithm }, 'runner listening');
