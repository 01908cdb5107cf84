/** Stand-alone runner process: `node runner/src/main.ts` (configuration from the environment, see README). */
import { createRunner } from './index.ts';
import { runnerConfigFromEnv } from './config.ts';

const config = runnerConfigFromEnv();
const runner = await createRunner(config);
const { url } = await runner.listen();
runner.logger.info({ url, workers: config.workers, isolation: config.isolation }, 'runner listening');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void runner.close().then(() => process.exit(0)));
