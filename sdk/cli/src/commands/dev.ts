/**
 * `alga component dev [dir] [--port 3000] [--host-routes FILE] [--allow-private CIDR…] [--reset]`:
 * builds, serves the extension from the real runner on local backends (see local-host.ts), and
 * on every save rebuilds and hot-swaps it without restarting: requests in flight finish on the
 * build they started on; a failed build leaves the previous one serving and shows the error.
 *
 * Local state, all under `.alga/` (git-ignored by the templates):
 *   storage/          the install's key-value store (PGlite), kept between runs; `--reset` clears it
 *   config.json       the install's config, validated against manifest `settings`, defaults applied
 *   secrets.json      secret values (or ALGA_SECRET_<KEY> variables); sealed with a throwaway key
 *   dev-install.json  the local tenant and install ids, so stored data stays this install's
 *
 * @example
 *   const session = await startDev({ dir: '.', port: 0 }, out);
 *   await fetch(`${session.url}/hello`);
 *   await session.close();
 */
import { randomUUID } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { createStackMapper } from '@alga-psa/extension-host/component/stack-map';
import { TranspileCache } from '@alga-psa/extension-host/component/transpile-cache';
import { sha256Hex } from '@alga-psa/extension-contracts';
import { buildExtensionUiBundles } from '@alga-psa/extension-ui/build-bundles';
import { CliError, toCliError } from '../cli-error.ts';
import type { Output } from '../output.ts';
import { packBuildOutput } from '../build/pack-output.ts';
import { sourceMapFileName } from '../build/build-component.ts';
import { readFixtureFile, parseFixtures, type Fixtures } from '../local-host/fixtures.ts';
import { readJsonFile, resolveSecrets } from '../local-host/install-settings.ts';
import { seedStorageDir } from '../local-host/storage-seed.ts';
import { createLocalHost, type LocalHost, type LocalIdentity, type LocalInstall } from '../local-host/local-host.ts';
import { startDevServer, type BuildState, type DevServer } from '../dev/dev-server.ts';
import { formatRequest, type StackMapper } from '../dev/request-log.ts';
import { watchProject } from '../dev/watch.ts';
import { buildProject, startBuildWorkers, type BuiltProject } from './build.ts';
import { loadProject } from './project.ts';

export interface DevOptions {
  dir?: string;
  port: number;
  hostRoutes?: string;
  allowPrivate?: string[];
  reset?: boolean;
  typecheck?: boolean;
  /** Save → rebuild delay. */
  debounceMs?: number;
}

export interface DevSession {
  url: string;
  install: LocalInstall;
  server: DevServer;
  /** Resolves when the build started by the latest change is served (or has failed). */
  settled(): Promise<BuildState>;
  close(): Promise<void>;
}

const settingsFiles = new Set(['config.json', 'secrets.json']);

interface Prepared { built: BuiltProject; bundle: Uint8Array; uiFiles: Map<string, Uint8Array> }

/**
 * The iframe UI's files as the bundle holds them (`ui/` of dist/, which the bundle packs as it
 * is), read from dist/ rather than by inflating the bundle once more; the deploy reads the
 * bundle itself, with every check.
 */
async function readUiFiles(distDir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(distDir, 'ui', rel), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.set(path, new Uint8Array(await readFile(join(distDir, 'ui', path))));
    }
  };
  await walk('');
  return files;
}

async function localIdentity(stateDir: string): Promise<LocalIdentity> {
  const path = join(stateDir, 'dev-install.json');
  const saved = await readJsonFile(path, undefined) as Partial<LocalIdentity> | undefined;
  if (saved && typeof saved.tenantId === 'string' && typeof saved.installId === 'string') return { tenantId: saved.tenantId, installId: saved.installId };
  const identity = { tenantId: randomUUID(), installId: randomUUID() };
  await mkdir(stateDir, { recursive: true });
  await writeFile(path, `${JSON.stringify(identity, null, 2)}\n`);
  return identity;
}

export async function startDev(options: DevOptions, out: Output): Promise<DevSession> {
  const dir = resolve(options.dir ?? '.');
  let project = await loadProject(dir);
  const stateDir = join(dir, '.alga');
  const storageDir = join(stateDir, 'storage');
  if (options.reset) {
    await rm(storageDir, { recursive: true, force: true });
    out.progress('storage: cleared (--reset)');
  }
  const identity = await localIdentity(stateDir);
  const hostRoutesPath = options.hostRoutes ? resolve(options.hostRoutes) : undefined;
  let hostRoutes: Fixtures = hostRoutesPath ? await readFixtureFile(hostRoutesPath, 'host route') : parseFixtures({}, 'host route');

  const emit = (event: string, data: object, human: string[]) => {
    if (out.json) process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
    else process.stdout.write(`${human.join('\n')}\n`);
  };

  // The runner's transpile cache (local-host.ts): the build child fills it for each new build,
  // warm, while this process packs the bundle; the deploy then finds the component transpiled.
  const transpileCache = new TranspileCache(join(stateDir, 'transpile-cache'));
  const transpileStaging = join(stateDir, 'transpile-staging');
  let builds = 0;

  /** Build, pack and read the project as it is now: everything a deploy needs but the host. */
  async function prepare(): Promise<Prepared> {
    project = await loadProject(dir);
    const staged = join(transpileStaging, `${process.pid}-${++builds}`);
    const built = await buildProject(project, { typecheck: options.typecheck ?? true, color: !out.json && Boolean(process.stderr.isTTY), workers, transpileInto: staged }, out);
    let contentHash: string | undefined;
    try {
      const bundle = await packBuildOutput(built.distDir, { local: true });
      contentHash = sha256Hex(bundle);
      const uiFiles = await readUiFiles(built.distDir);
      return { built, bundle, uiFiles };
    } finally {
      if (built.transpiled) await adoptTranspile(built.transpiled, staged, contentHash);
    }
  }

  /** Moves the child's transpile of this bundle's component into the runner's cache (unless it has one). */
  async function adoptTranspile(transpiled: Promise<boolean>, staged: string, contentHash: string | undefined): Promise<void> {
    try {
      if ((await transpiled) && contentHash) {
        await mkdir(transpileCache.root, { recursive: true });
        await rename(staged, transpileCache.dirFor(contentHash)).catch(() => undefined);
      }
    } finally {
      await rm(staged, { recursive: true, force: true });
    }
  }

  // The first build needs nothing of the local host until its deploy: it runs in the build
  // children while this process opens storage and starts the runner and the server. The
  // children stay for every rebuild.
  await rm(transpileStaging, { recursive: true, force: true });
  const workers = startBuildWorkers();
  const firstStarted = performance.now();
  const firstBuild = prepare();
  firstBuild.catch(() => undefined);
  const abandonFirstBuild = async () => {
    workers.close();
    await firstBuild.catch(() => undefined);
  };

  let host: LocalHost;
  try {
    const seeded = await seedStorageDir(storageDir);
    const hostOptions = { stateDir, storage: storageDir, outboundHttp: 'network', allowPrivateCidrs: options.allowPrivate ?? [], workers: 2 } as const;
    host = await createLocalHost(hostOptions).catch(async (err: unknown) => {
      if (!seeded) throw err;
      // A damaged template must not stop dev: PGlite initialises the directory itself.
      await rm(storageDir, { recursive: true, force: true });
      return createLocalHost(hostOptions);
    });
  } catch (err) {
    await abandonFirstBuild();
    throw err;
  }
  const install = host.install({
    identity,
    hostRoutes: () => hostRoutes,
    onHostRouteCall: (call) => { if (!out.json) process.stdout.write(`  host  ${call.method} ${call.route} → ${call.status}\n`); },
  });

  let build: BuildState = { state: 'building' };
  let mapStack: StackMapper | undefined;
  const uiByHash = new Map<string, Map<string, Uint8Array>>();
  let bridge: Promise<string> | undefined;
  let server: DevServer;
  try {
    server = await startDevServer({
      install,
      port: options.port,
      hostBridge: () => (bridge ??= buildExtensionUiBundles({ outDir: join(stateDir, 'extension-ui') }).then((b) => b.hostIife.code)),
      uiFiles: (hash) => uiByHash.get(hash),
      build: () => build,
      onRequest: ({ method, path, response }) => {
        const errorMessage = response.errorCode ? (JSON.parse(response.body.toString('utf8')) as { error: { message: string } }).error.message : undefined;
        const record = { method, path, status: response.status, durationMs: response.durationMs, hostCalls: response.hostCalls, logs: response.logs, errorCode: response.errorCode, errorMessage };
        const mapped = response.logs.map((l) => (l.fields.stack && mapStack ? { ...l, fields: { ...l.fields, stack: mapStack(l.fields.stack) } } : l));
        emit('request', { ...record, logs: mapped }, formatRequest(record, mapStack));
      },
    });
  } catch (err) {
    await abandonFirstBuild();
    await host.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliError('E_PORT_IN_USE', `port ${options.port} is already in use`, 'stop the other server, or pass --port <n> (0 picks a free port)');
    throw err;
  }

  async function readSettings() {
    const config = await readJsonFile(join(stateDir, 'config.json'), {});
    const secretsFile = await readJsonFile(join(stateDir, 'secrets.json'), {});
    return { config, secrets: resolveSecrets(project.manifest, secretsFile, process.env, '.alga/secrets.json') };
  }

  /**
   * Builds and swaps in the project as it is now (or the build already under way); on failure
   * the previous build keeps serving.
   */
  async function rebuild(reason: string, prepared?: { build: Promise<Prepared>; started: number }): Promise<void> {
    const started = prepared?.started ?? performance.now();
    const previous = install.current()?.contentHash;
    build = { state: 'building' };
    server.broadcast('building', { reason });
    try {
      const { built, bundle, uiFiles } = await (prepared?.build ?? prepare());
      const deployment = await install.deploy(bundle, await readSettings());
      uiByHash.set(deployment.contentHash, uiFiles);
      const map = await readFile(join(built.distDir, sourceMapFileName), 'utf8').catch(() => undefined);
      mapStack = map ? createStackMapper(map) : undefined;
      build = { state: 'ready', contentHash: deployment.contentHash, builtAt: Date.now() };
      const ms = Math.round(performance.now() - started);
      const swapped = previous !== undefined && previous !== deployment.contentHash;
      server.broadcast('deployed', { ...server.state(), reason });
      emit('deployed', { contentHash: deployment.contentHash, ms, reason, swapped },
        [previous === undefined ? `ready in ${(ms / 1000).toFixed(2)} s` : swapped ? `↻ swapped in the new build in ${(ms / 1000).toFixed(2)} s (${reason})` : `↻ unchanged (${reason})`]);
    } catch (err) {
      const e = toCliError(err);
      build = { state: 'failed', code: e.code, message: e.message, contentHash: previous };
      server.broadcast('build-failed', build);
      emit('build-failed', { code: e.code, message: e.message, hint: e.hint },
        [`✗ build failed: ${e.code}: ${e.message}`, ...(e.hint ? [`  → ${e.hint}`] : []), previous ? '  the previous build keeps serving' : '  nothing is served until a build succeeds']);
    }
  }

  // One build at a time; changes during a build trigger exactly one more.
  let running: Promise<void> = Promise.resolve();
  let queued: string | undefined;
  let busy = false;
  const schedule = (reason: string, first?: { build: Promise<Prepared>; started: number }) => {
    if (busy) { queued = reason; return running; }
    busy = true;
    running = (async () => {
      let next: string | undefined = reason;
      while (next !== undefined) {
        queued = undefined;
        await rebuild(next, first);
        first = undefined;
        next = queued;
      }
      busy = false;
    })();
    return running;
  };

  await schedule('start', { build: firstBuild, started: firstStarted });
  const endpoints = project.manifest.api.endpoints;
  emit('ready', { url: server.url, endpoints, shell: project.manifest.ui ? `${server.url}/` : undefined, identity }, [
    `alga dev: ${project.manifest.name}@${project.manifest.version} on ${server.url}`,
    ...endpoints.map((e) => `  ${e.method.padEnd(6)} ${server.url}${e.path}`),
    ...(project.manifest.ui ? [`  shell  ${server.url}/  (the iframe UI, with the host bridge)`] : []),
    `  state  ${relative(process.cwd(), stateDir) || '.alga'}/ — storage kept between runs (--reset clears it), config.json, secrets.json`,
    'watching for changes (Ctrl-C to stop)',
  ]);

  const watcher = watchProject(dir, (files) => {
    if (hostRoutesPath && files.some((f) => resolve(dir, f) === hostRoutesPath)) void reloadHostRoutes();
    void schedule(files.length === 1 ? files[0] : `${files.length} files`);
  }, { debounceMs: options.debounceMs ?? 100 });
  const settingsWatcher = watch(stateDir, (_event, file) => {
    if (file && settingsFiles.has(file.toString())) void schedule(`.alga/${file.toString()}`);
  });
  const routesWatcher = hostRoutesPath && !hostRoutesPath.startsWith(`${dir}/`) ? watch(hostRoutesPath, () => void reloadHostRoutes()) : undefined;

  async function reloadHostRoutes(): Promise<void> {
    try {
      hostRoutes = await readFixtureFile(hostRoutesPath!, 'host route');
      emit('host-routes', { count: hostRoutes.entries.length }, [`host routes reloaded (${hostRoutes.entries.length})`]);
    } catch (err) {
      const e = toCliError(err);
      emit('host-routes-failed', { code: e.code, message: e.message }, [`✗ host routes not reloaded: ${e.message} (the previous ones stay)`]);
    }
  }

  return {
    url: server.url,
    install,
    server,
    settled: async () => { await running; return build; },
    async close() {
      watcher.close();
      settingsWatcher.close();
      routesWatcher?.close();
      await running.catch(() => undefined);
      workers.close();
      await server.close();
      await host.close();
    },
  };
}

/** The command: runs until Ctrl-C (or SIGTERM), then stops the runner and closes storage cleanly. */
export async function devCommand(dir: string | undefined, opts: Omit<DevOptions, 'dir'>, out: Output): Promise<void> {
  const session = await startDev({ ...opts, dir }, out);
  await new Promise<void>((resolveStop) => {
    const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolveStop(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  out.progress('stopping…');
  await session.close();
}
