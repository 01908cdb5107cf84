/**
 * The stand-alone runner README documents for scaling out — `node runner/src/main.ts` in its own
 * process, configured only through its environment, with NODE_ENV=production — serving a gateway
 * harness. Nothing is shared with the test process but files and loopback HTTP.
 *
 * @example
 *   const h = await startGatewayHarness({ externalRunner: externalRunnerProcess() });
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SecretBackendConfig } from '@alga-psa/extension-host/secrets/secret-cipher';
import type { ExternalRunnerContext } from './gateway-harness.ts';
import { runnerMain } from './service-process.ts';
import { freePort } from './gateway-harness.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** The variables that give a runner process the same secret backend as `secrets` (what an operator sets). */
export function secretBackendEnv(secrets: SecretBackendConfig): Record<string, string> {
  if (secrets.backend === 'local') return { ALGA_SECRETS_BACKEND: 'local', ALGA_KEYRING_FILE: secrets.keyringFile };
  const env: Record<string, string> = { ALGA_SECRETS_BACKEND: 'vault', VAULT_ADDR: secrets.endpoint };
  if (secrets.token) env.VAULT_TOKEN = secrets.token;
  if (secrets.tokenFile) env.VAULT_TOKEN_FILE = secrets.tokenFile;
  if (secrets.mount) env.ALGA_VAULT_TRANSIT_MOUNT = secrets.mount;
  if (secrets.keyName) env.ALGA_VAULT_TRANSIT_KEY = secrets.keyName;
  if (secrets.namespace) env.VAULT_NAMESPACE = secrets.namespace;
  if (secrets.timeoutMs !== undefined) env.ALGA_VAULT_TIMEOUT_MS = String(secrets.timeoutMs);
  if (secrets.keyringFile) env.ALGA_KEYRING_FILE = secrets.keyringFile;
  return env;
}

export interface ExternalRunnerOptions {
  /** More variables, e.g. RUNNER_HTTP_ALLOWED_PRIVATE_CIDRS. */
  env?: Record<string, string>;
}

/** A harness `externalRunner`: spawns the runner on a free port and resolves once it listens. */
export interface ExternalRunnerHandle {
  url: string;
  /** SIGTERM (a graceful drain), then SIGKILL after 5 s. */
  close(): Promise<void>;
  /** SIGKILL at once, as a crash or an OOM kill would: resolves when the process is gone. */
  kill(): Promise<void>;
}

export function externalRunnerProcess(options: ExternalRunnerOptions = {}) {
  return (ctx: ExternalRunnerContext): Promise<ExternalRunnerHandle> => new Promise((resolve, reject) => {
    // Only what an operator would set: nothing leaks in from the test process's environment.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      RUNNER_HOST: '127.0.0.1',
      RUNNER_PORT: '0',
      RUNNER_WORKERS: '2',
      BUNDLE_STORE_DIR: ctx.bundleDir,
      RUNNER_CACHE_DIR: join(repoRoot, '.alga-cache', 'transpile'),
      RUNNER_TRUSTED_KEYS: JSON.stringify({ keys: ctx.trustedKeys }),
      GATEWAY_URL: ctx.gatewayUrl,
      RUNNER_HTTP_ALLOWED_PRIVATE_CIDRS: '127.0.0.1/32',
      LOG_LEVEL: 'debug',
      ...secretBackendEnv(ctx.secrets),
      ...options.env,
    };
    const child = spawn(process.execPath, [runnerMain], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const exited = new Promise<void>((r) => child.once('exit', () => { process.off('exit', killOnExit); r(); }));
    let ready = false;
    let output = '';
    const onLine = (line: string) => {
      ctx.logs.push(line);
      if (ready) return;
      output += `${line}\n`;
      const url = /"msg":"runner listening"/.test(line) ? /"url":"(https?:\/\/[^"]+)"/.exec(line)?.[1] : undefined;
      if (!url) return;
      ready = true;
      clearTimeout(timer);
      resolve({
        url,
        async close() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        },
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      });
    };
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line) onLine(line);
      });
    }
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`runner process did not listen within 30 s:\n${output.slice(-4000)}`)); }, 30_000);
    child.once('exit', (code, signal) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`runner process exited (${code ?? signal}) before listening:\n${output.slice(-4000)}`));
    });
  });
}

/**
 * An external runner that a test can kill (SIGKILL) and start again on the same port, so the
 * gateway, which is never restarted, finds it where it was.
 *
 * @example
 *   const runner = restartableExternalRunner();
 *   const h = await startGatewayHarness({ externalRunner: runner.externalRunner });
 *   await runner.kill(); … await runner.restart();
 */
export function restartableExternalRunner(options: ExternalRunnerOptions = {}) {
  let ctx: ExternalRunnerContext | undefined;
  let port: number | undefined;
  let current: ExternalRunnerHandle | undefined;
  const spawnOnPort = () => externalRunnerProcess({ ...options, env: { ...options.env, RUNNER_PORT: String(port) } })(ctx!);
  return {
    async externalRunner(context: ExternalRunnerContext): Promise<{ url: string; close(): Promise<void> }> {
      ctx = context;
      port = await freePort();
      current = await spawnOnPort();
      return { url: current.url, close: () => current?.close() ?? Promise.resolve() };
    },
    kill: () => current!.kill(),
    async restart(): Promise<void> {
      current = await spawnOnPort();
    },
  };
}
