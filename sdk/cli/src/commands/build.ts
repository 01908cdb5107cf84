/**
 * `alga component build [dirs…] [--no-typecheck]`: the type check and esbuild → componentize-js,
 * in two child processes at once, one progress line per phase with its time, cached by content in
 * `.alga/build/` (an unchanged project is a copy, well under a second). Writes
 * `dist/component.wasm`, `dist/component.js.map` and `dist/manifest.json` (+ `dist/ui/`).
 *
 * @example
 *   const built = await buildProject(await loadProject('.'), { typecheck: true }, out);
 */
import { fork, type ChildProcess } from 'node:child_process';
import { getCompileCacheDir } from 'node:module';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputHash } from '../build/build-cache.ts';
import type { BuildChildEvent, BuildChildMessage, BuildChildRequest, BuildChildRole, TypecheckRequest } from '../build/build-child.ts';
import { CliError } from '../cli-error.ts';
import type { Output } from '../output.ts';
import { writeEditorTypes } from '../project/editor-types.ts';
import { loadProject, type Project } from './project.ts';

const childEntry = fileURLToPath(new URL('../build/build-child.ts', import.meta.url));
/** Marks which cached build `dist/` holds, so a no-op build copies nothing. */
const buildKeyFile = '.build-key';
const keptBuilds = 3;

export interface BuiltProject {
  project: Project;
  key: string;
  fromCache: boolean;
  distDir: string;
  imports: string[];
  componentBytes: number;
  phases: Record<string, number>;
  totalMs: number;
  /**
   * With `transpileInto` and a fresh build: settles when the build child has transpiled the
   * component into that directory (true) or could not (false).
   */
  transpiled?: Promise<boolean>;
}

export async function buildProject(project: Project, opts: BuildOptions, out: Output): Promise<BuiltProject> {
  const started = performance.now();
  await writeEditorTypes(project.dir, project.manifest);
  const key = await inputHash(project.dir);
  const cacheRoot = join(project.dir, '.alga', 'build');
  const cached = join(cacheRoot, key);
  const name = project.manifest.name;
  let fromCache = await exists(join(cached, 'component.wasm'));
  let phases: Record<string, number> = {};
  let imports: string[] = [];
  let transpiled: Promise<boolean> | undefined;
  if (fromCache) {
    out.progress(`${name}: unchanged since the last build (cache ${key})`);
    imports = (JSON.parse(await readFile(join(cached, 'build.json'), 'utf8')) as { imports: string[] }).imports;
  } else {
    const staging = `${cached}.${process.pid}.tmp`;
    await rm(staging, { recursive: true, force: true });
    const result = await runBuild({ projectDir: project.dir, outDir: staging, typecheck: opts.typecheck ?? true, color: opts.color ?? false, transpileInto: opts.transpileInto }, name, out, opts.workers)
      .catch(async (err: unknown) => {
        // A failed type check leaves the staging directory to runBuild (componentize may still be writing it).
        if ((err as CliError).code !== 'E_TYPECHECK_FAILED') await rm(staging, { recursive: true, force: true });
        throw err;
      });
    phases = result.phases;
    imports = result.imports;
    transpiled = result.transpiled;
    await writeFile(join(staging, 'build.json'), JSON.stringify({ imports, phases }));
    await mkdir(cacheRoot, { recursive: true });
    await rename(staging, cached).catch(async () => { await rm(staging, { recursive: true, force: true }); fromCache = true; });
    await pruneBuilds(cacheRoot, key);
  }
  if ((await readFile(join(project.distDir, buildKeyFile), 'utf8').catch(() => '')) !== key) {
    await rm(project.distDir, { recursive: true, force: true });
    await cp(cached, project.distDir, { recursive: true, filter: (src) => !src.endsWith('build.json') });
    await writeFile(join(project.distDir, buildKeyFile), key);
  }
  const componentBytes = (await stat(join(project.distDir, 'component.wasm'))).size;
  return { project, key, fromCache, distDir: project.distDir, imports, componentBytes, phases, totalMs: performance.now() - started, ...(transpiled ? { transpiled } : {}) };
}

export interface BuildOptions {
  typecheck?: boolean;
  color?: boolean;
  /** Build children kept between builds (`alga component dev`); default: fresh ones for this build. */
  workers?: BuildWorkers;
  /** Also transpile the component for the runner, into this directory (see BuiltProject.transpiled). */
  transpileInto?: string;
}

/**
 * The type check and componentize run in two child processes at once (two cores); what this
 * process prints is what one build after the other printed: the `typecheck` line first, then
 * componentize's progress (held back until the type check passed), then `bundle` and
 * `componentize`. A failed type check fails the build at once, componentize's result unused.
 */
async function runBuild(request: BuildChildRequest & { typecheck: boolean }, name: string, out: Output, workers: BuildWorkers | undefined): Promise<{ phases: Record<string, number>; imports: string[]; transpiled?: Promise<boolean> }> {
  const phases: Record<string, number> = {};
  const { typecheck, ...job } = request;
  const typechecker = typecheck ? (workers?.typecheck ?? new BuildChild('typecheck', false)) : undefined;
  const componentizer = workers?.componentize ?? new BuildChild('componentize', false);
  let held: string[] | undefined = typechecker ? [] : undefined;
  const built = componentizer.run(job, (e) => {
    if (e.event !== 'progress') return;
    if (held) held.push(e.message);
    else out.progress(`${name}: ${e.message}`);
  });
  built.catch(() => undefined);
  if (typechecker) {
    // The build failed here: componentize's output (half-written, or written later by a kept child) is thrown away.
    const abandon = () => {
      void built.cancel().then(() => Promise.all([job.outDir, job.transpileInto].map((d) => d && rm(d, { recursive: true, force: true }))));
    };
    let checked: BuildChildEvent;
    try {
      checked = await typechecker.run({ projectDir: job.projectDir, color: job.color }, () => {});
    } catch (err) {
      abandon();
      throw err;
    }
    if (checked.event === 'typechecked' && checked.errors > 0) {
      abandon();
      throw new CliError('E_TYPECHECK_FAILED', `${checked.errors} type error${checked.errors === 1 ? '' : 's'}:\n${checked.formatted.trimEnd()}`, hintFor('E_TYPECHECK_FAILED'));
    }
    if (checked.event === 'error') {
      abandon();
      throw new CliError(checked.code, checked.message, hintFor(checked.code));
    }
    if (checked.event === 'typechecked') {
      phases.typecheck = Math.round(checked.ms);
      out.progress(`${name}: typecheck ${(checked.ms / 1000).toFixed(2)} s`);
    }
    for (const message of held!) out.progress(`${name}: ${message}`);
    held = undefined;
  }
  const result = await built;
  if (result.event === 'error') throw new CliError(result.code, result.message, hintFor(result.code));
  for (const e of built.phases) {
    phases[e.phase] = Math.round(e.ms);
    out.progress(`${name}: ${e.phase} ${(e.ms / 1000).toFixed(2)} s`);
  }
  return { phases, imports: result.event === 'done' ? result.imports : [], ...(built.followUp ? { transpiled: built.followUp.then((e) => e.event === 'transpiled' && e.ok, () => false) } : {}) };
}

/**
 * The two build children `alga component dev` keeps: a rebuild skips starting a process and
 * loading TypeScript, esbuild and componentize-js, and finds them warm (componentize-js's
 * splicer, TypeScript's parsed lib files). A child that died is started again by the next build.
 */
export interface BuildWorkers {
  readonly typecheck: BuildChild;
  readonly componentize: BuildChild;
  close(): void;
}

export function startBuildWorkers(): BuildWorkers {
  const typecheck = new BuildChild('typecheck', true);
  const componentize = new BuildChild('componentize', true);
  typecheck.start();
  componentize.start();
  return { typecheck, componentize, close() { typecheck.close(); componentize.close(); } };
}

type Final = Extract<BuildChildEvent, { event: 'done' | 'typechecked' | 'error' }>;
type Phase = Extract<BuildChildEvent, { event: 'phase' }>;
type FollowUp = Extract<BuildChildEvent, { event: 'transpiled' }>;
interface Job { onEvent(e: BuildChildEvent): void; phases: Phase[]; settle(e: Final | Error): void; followUp?(e: FollowUp | Error): void }
export interface RunningJob extends Promise<Final> {
  phases: Phase[];
  /** A build asked to transpile too: the `transpiled` answer that follows `done`. */
  followUp?: Promise<FollowUp>;
  /** Stops listening (the promise answers E_CANCELLED); resolves when the child is done with the job. */
  cancel(): Promise<void>;
}

/** One child process and the jobs sent to it. */
interface Proc { child: ChildProcess; jobs: Map<number, Job>; served: number }

export class BuildChild {
  private proc: Proc | undefined;
  private nextId = 1;
  private closed = false;

  readonly role: BuildChildRole;
  private readonly persistent: boolean;

  constructor(role: BuildChildRole, persistent: boolean) {
    this.role = role;
    this.persistent = persistent;
  }

  /** Starts the process now, so the first job finds it loaded. */
  start(): void {
    this.current();
  }

  run(job: BuildChildRequest | TypecheckRequest, onEvent: (e: BuildChildEvent) => void): RunningJob {
    const id = this.nextId++;
    const phases: Phase[] = [];
    if (this.closed) {
      const stopped = Promise.reject(new CliError('E_BUILD_FAILED', 'the build was stopped')) as RunningJob;
      stopped.phases = phases;
      stopped.cancel = async () => {};
      return stopped;
    }
    const proc = this.current();
    let answer!: (e: Final) => void;
    let fail!: (err: Error) => void;
    const result = new Promise<Final>((resolve, reject) => { answer = resolve; fail = reject; }) as RunningJob;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    let cancelled = false;
    let followUp: ((e: FollowUp | Error) => void) | undefined;
    if ('outDir' in job && job.transpileInto) {
      result.followUp = new Promise<FollowUp>((resolve, reject) => { followUp = (e) => (e instanceof Error ? reject(e) : resolve(e)); });
      result.followUp.catch(() => undefined);
    }
    proc.jobs.set(id, {
      onEvent: (e) => { if (!cancelled) onEvent(e); },
      phases,
      settle: (e) => {
        // The child is done with the job at its last answer: `done` is not the last when a transpile follows.
        const last = !followUp || e instanceof Error || e.event === 'error';
        if (last) {
          done();
          followUp?.(e instanceof Error ? e : new Error(e.event === 'error' ? e.message : 'no transpile'));
        }
        if (cancelled) return;
        if (e instanceof Error) fail(e);
        else answer(e);
      },
      ...(followUp ? { followUp: (e: FollowUp | Error) => { done(); followUp!(e); } } : {}),
    });
    this.hold(proc);
    proc.child.send({ id, job } satisfies BuildChildMessage);
    result.phases = phases;
    result.cancel = () => {
      if (!cancelled) {
        cancelled = true;
        answer({ event: 'error', code: 'E_CANCELLED', message: 'cancelled' });
        // A fresh child, or a kept one that has not finished a build yet (nothing warm to lose), is
        // stopped, a kept one started again at once; a warm one finishes componentize unheard and
        // skips the rest, so the next build waits for the shortest time.
        if (!this.persistent || proc.served === 0) this.stop(proc, this.persistent);
        else if (proc.child.connected) proc.child.send({ cancel: id } satisfies BuildChildMessage);
      }
      return finished;
    };
    return result;
  }

  close(): void {
    this.closed = true;
    if (this.proc) this.stop(this.proc, false);
  }

  private stop(proc: Proc, restart: boolean): void {
    if (this.proc === proc) this.proc = undefined;
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill();
    if (restart && !this.closed) this.current();
  }

  private current(): Proc {
    if (this.proc) return this.proc;
    const cacheDir = getCompileCacheDir();
    const child = fork(childEntry, [this.role], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [],
      env: cacheDir ? { ...process.env, NODE_COMPILE_CACHE: cacheDir } : process.env,
    });
    const proc: Proc = { child, jobs: new Map(), served: 0 };
    this.proc = proc;
    // componentize-js and esbuild may print; that is progress noise, never the result.
    child.stdout!.on('data', (d: Buffer) => process.stderr.write(d));
    child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('message', (e: BuildChildEvent & { id: number }) => {
      const job = proc.jobs.get(e.id);
      if (!job) return;
      if (e.event === 'phase') job.phases.push(e);
      else if (e.event === 'done' || e.event === 'typechecked' || e.event === 'error' || e.event === 'transpiled') {
        if (e.event === 'done' || e.event === 'typechecked') proc.served++;
        // A build that transpiles too is the child's until its `transpiled` answer.
        const more = e.event === 'done' && job.followUp !== undefined;
        if (!more) {
          proc.jobs.delete(e.id);
          this.hold(proc);
          if (!this.persistent) child.disconnect();
        }
        if (e.event === 'transpiled') job.followUp?.(e);
        else job.settle(e);
      } else job.onEvent(e);
    });
    const fail = (err: Error) => {
      if (this.proc === proc) this.proc = undefined;
      for (const [id, job] of proc.jobs) { proc.jobs.delete(id); job.settle(err); }
    };
    child.on('error', fail);
    child.on('exit', (code) => fail(new CliError('E_BUILD_FAILED', `the build process exited with code ${code}`, 'run the build again; if it keeps failing, run with --no-typecheck to see whether the type check or componentize fails')));
    this.hold(proc);
    return proc;
  }

  /** A kept child keeps this process alive only while it has work. */
  private hold(proc: Proc): void {
    if (!this.persistent) return;
    const { child } = proc;
    const handles = [child, child.channel, child.stdout, child.stderr] as Array<{ ref?(): void; unref?(): void } | null | undefined>;
    for (const h of handles) (proc.jobs.size > 0 ? h?.ref : h?.unref)?.call(h);
  }
}

function hintFor(code: string): string | undefined {
  if (code === 'E_TYPECHECK_FAILED') return 'fix the type errors above (or build with --no-typecheck to try the component anyway)';
  if (code === 'E_BUNDLE_FAILED') return 'fix the error at the file and line shown above';
  return undefined;
}

async function pruneBuilds(cacheRoot: string, keep: string): Promise<void> {
  const entries = await readdir(cacheRoot, { withFileTypes: true });
  const builds = await Promise.all(entries.filter((e) => e.isDirectory() && e.name !== keep && !e.name.endsWith('.tmp'))
    .map(async (e) => ({ name: e.name, at: (await stat(join(cacheRoot, e.name))).mtimeMs })));
  for (const old of builds.sort((a, b) => b.at - a.at).slice(keptBuilds - 1)) await rm(join(cacheRoot, old.name), { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

export async function buildCommand(dirs: string[], opts: { typecheck?: boolean }, out: Output): Promise<void> {
  const results: BuiltProject[] = [];
  for (const dir of dirs.length > 0 ? dirs : ['.']) {
    const built = await buildProject(await loadProject(dir), { typecheck: opts.typecheck, color: !out.json && Boolean(process.stderr.isTTY) }, out);
    results.push(built);
  }
  out.result(
    { builds: results.map((b) => ({ name: b.project.manifest.name, version: b.project.manifest.version, distDir: b.distDir, fromCache: b.fromCache, imports: b.imports, componentBytes: b.componentBytes, phasesMs: b.phases, totalMs: Math.round(b.totalMs) })) },
    results.map((b) => `${b.project.manifest.name}@${b.project.manifest.version}: ${b.fromCache ? 'up to date' : 'built'} in ${(b.totalMs / 1000).toFixed(2)} s → ${b.distDir} (${(b.componentBytes / 1048576).toFixed(1)} MiB; imports ${b.imports.join(', ') || 'none'})`),
  );
}
