/**
 * `npm run bench` (part): the developer loop through the real `alga` process, per template.
 *
 * 1. Builds: `component new`, the first build (nothing cached), an unchanged rebuild, a rebuild
 *    after an edit, and the component's size (`alga component build`, one process each).
 * 2. Dev loop (`alga component dev --port 0 --json`, a real process):
 *    - new → first answer: from before `component new` (a fresh temp project, so `.alga/` and
 *      its build and transpile caches are cold) to the first 200 from the template's GET
 *      endpoint; target ≤ 12 s, the first build included.
 *    - edit saved → new behaviour served: with dev running, write an edit of src/index.ts that
 *      changes the answer, poll the endpoint every 20 ms, time from the write to the first new
 *      answer; target ≤ 6 s. Every edit is new content (a build cache hit would not be an edit).
 *      Where the time goes comes from the dev process itself: the shell's SSE `building` event
 *      (the watcher fired), its stderr phase lines (`<name>: typecheck X s`, `bundle`,
 *      `componentize`) and the `deployed` event; the deploy path (pack, read, store, transpile +
 *      compile) is also replayed here on the same dist/, stage by stage.
 * Baselines come from the same run (`alga component build` after an edit vs edit → served).
 * Writes bench-results/cli.json. Whole-process wall times on a shared machine (the load average
 * is recorded): read them beside each other, not as absolutes.
 *
 *   node sdk/cli/bench/cli.bench.ts [--quick] [--iterations N] [--edits N]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { stats, type LatencyStats } from '../../../runner/bench/bench-lib.ts';
import { readBundle } from '@alga-psa/extension-contracts';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { TranspileCache } from '@alga-psa/extension-host/component/transpile-cache';
import { ComponentLoader } from '../../../runner/src/component/component-loader.ts';
import { packBuildOutput } from '../src/build/pack-output.ts';

const bin = fileURLToPath(new URL('../bin/alga.mjs', import.meta.url));
const resultsDir = fileURLToPath(new URL('../../../bench-results/', import.meta.url));
const argValue = (name: string) => { const i = process.argv.indexOf(name); return i >= 0 ? Number(process.argv[i + 1]) : undefined; };
const quick = process.argv.includes('--quick');
/** new → first answer runs per template (each ~10 s). */
const ITERATIONS = argValue('--iterations') ?? (quick ? 1 : 3);
/** Edits per dev session (so ITERATIONS × EDITS edit samples per template). */
const EDITS = argValue('--edits') ?? 2;
const POLL_MS = 20;

const targets = {
  newToFirstAnswerMs: 12_000,
  editToServedMs: 6_000,
  noopRebuildMs: 1_000,
};

/** Per template: the GET endpoint the loop is timed on, and an edit of src/index.ts that puts `marker` in its answer. */
const templates: Record<string, { endpoint: string; edit(source: string, marker: string): string }> = {
  'component-basic': {
    endpoint: '/hello',
    edit: (s, m) => replaceOnce(s, /return jsonResponse\(200, \{ greeting(?:, edit: '[^']*')? \}\);/, `return jsonResponse(200, { greeting, edit: '${m}' });`),
  },
  'component-with-ui': {
    endpoint: '/notes',
    edit: (s, m) => replaceOnce(s, /'GET \/notes': async \(\{ ctx \}\) => \(\{ notes: .* \}\),/, `'GET /notes': async ({ ctx }) => ({ notes: [...(await allNotes(ctx)), { id: '${m}', text: '${m}', createdAt: '' }] }),`),
  },
};

function replaceOnce(source: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(source)) throw new Error(`the benchmark's edit no longer matches the template source (${pattern}); update sdk/cli/bench/cli.bench.ts`);
  return source.replace(pattern, replacement);
}

function alga(args: string[], cwd: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`alga ${args.join(' ')} failed: ${stderr}`));
      else resolve(performance.now() - started);
    });
  });
}

// ── a running `alga component dev`, every line stamped with when it arrived ──────────────────

interface DevEvent { event: string; [key: string]: any }
interface Stamped<T> { at: number; value: T }

interface Dev {
  child: ChildProcess;
  events: Array<Stamped<DevEvent>>;
  stderr: Array<Stamped<string>>;
  /** Events of the dev shell's SSE stream (`building`, `deployed`, …), once `watchShell` ran. */
  shell: Array<Stamped<string>>;
  waitForEvent(match: (e: DevEvent) => boolean, timeoutMs: number, from?: number): Promise<Stamped<DevEvent>>;
  watchShell(url: string): Promise<void>;
  stop(): Promise<void>;
}

function onLines(stream: NodeJS.ReadableStream, each: (line: string, at: number) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const at = performance.now();
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      each(buffered.slice(0, nl), at);
      buffered = buffered.slice(nl + 1);
    }
  });
}

function startDev(dir: string): Dev {
  const child = spawn(process.execPath, [bin, 'component', 'dev', '--port', '0', '--json'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Dev['events'] = [];
  const stderr: Dev['stderr'] = [];
  const shell: Dev['shell'] = [];
  const wake = new Set<() => void>();
  onLines(child.stdout!, (line, at) => {
    let value: DevEvent;
    try { value = JSON.parse(line) as DevEvent; } catch { value = { event: 'non-json', line }; }
    events.push({ at, value });
    for (const w of wake) w();
  });
  onLines(child.stderr!, (line, at) => { stderr.push({ at, value: line }); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => { for (const w of wake) w(); resolve(); }));
  let closeShell: AbortController | undefined;
  return {
    child, events, stderr, shell,
    waitForEvent(match, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        const done = () => { clearTimeout(timer); wake.delete(check); };
        const check = () => {
          const found = events.slice(from).find((e) => match(e.value));
          if (found) { done(); resolve(found); } else if (child.exitCode !== null || child.signalCode !== null) {
            done(); reject(new Error(`alga dev exited (${child.exitCode ?? child.signalCode}); stderr:\n${stderr.map((l) => l.value).join('\n').slice(-4000)}`));
          }
        };
        const timer = setTimeout(() => { done(); reject(new Error(`no such dev event within ${timeoutMs} ms; events: ${events.map((e) => e.value.event).join(', ')}; stderr:\n${stderr.map((l) => l.value).join('\n').slice(-4000)}`)); }, timeoutMs);
        wake.add(check);
        check();
      });
    },
    async watchShell(url) {
      closeShell = new AbortController();
      const res = await fetch(`${url}/_alga/events`, { signal: closeShell.signal });
      if (!res.ok || !res.body) throw new Error(`GET /_alga/events answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      void (async () => {
        let buffered = '';
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
          if (done) return;
          const at = performance.now();
          buffered += value;
          let end: number;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const name = /^event: (.*)$/m.exec(buffered.slice(0, end))?.[1];
            buffered = buffered.slice(end + 2);
            if (name) shell.push({ at, value: name });
          }
        }
      })();
    },
    async stop() {
      closeShell?.abort();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** GET `url` every POLL_MS until `accept`; when the accepted answer arrived, and its body. */
async function pollUntil(url: string, accept: (status: number, body: string) => boolean, timeoutMs: number): Promise<{ at: number; body: string; polls: number }> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  for (let polls = 1; ; polls++) {
    try {
      const res = await fetch(url);
      const body = await res.text();
      const at = performance.now();
      if (accept(res.status, body)) return { at, body, polls };
      last = `${res.status} ${body.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (performance.now() > deadline) throw new Error(`GET ${url}: no accepted answer within ${timeoutMs} ms (last: ${last})`);
    await sleep(POLL_MS);
  }
}

const phasePattern = /: (typecheck|bundle|componentize) (\d+(?:\.\d+)?) s$/;

/** The build's phase lines (ms) and when each arrived, among stderr lines from index `from`. */
function phasesSince(dev: Dev, from: number): Record<string, { ms: number; at: number }> {
  const out: Record<string, { ms: number; at: number }> = {};
  for (const line of dev.stderr.slice(from)) {
    const m = phasePattern.exec(line.value);
    if (m && !out[m[1]]) out[m[1]] = { ms: Math.round(Number(m[2]) * 1000), at: line.at };
  }
  return out;
}

interface FirstAnswer {
  totalMs: number;
  /** `alga component new`, the whole process. */
  newMs: number;
  /** dev spawned → `ready` (start-up, then the first build and deploy). */
  devToReadyMs: number;
  /** dev spawned → the first build starts: process start, local host (storage, runner, workers), server. */
  devStartMs: number;
  /** The first `deployed` event's `ms`: build (typecheck, bundle, componentize) + pack + deploy. */
  firstBuildDeployMs: number;
  readyToAnswerMs: number;
  phases: Record<string, number>;
}
interface EditSample {
  session: number; edit: number; totalMs: number; polls: number;
  /** write → the shell's `building` event (file watcher + debounce). */
  watchMs: number;
  /** `building` → typecheck started: load the project, input hash, fork the build child, load TypeScript. */
  buildStartMs: number;
  typecheckMs: number; bundleMs: number; componentizeMs: number;
  /** Between the phases: what is neither (typecheck line → componentize line, less bundle and componentize). */
  betweenPhasesMs: number;
  /** componentize line → `deployed`: child exit, build cache and dist/ copies, pack (gzip), read the bundle, store, transpile + compile, warm. */
  packDeployMs: number;
  /** `deployed` → the first new answer the poll saw. */
  deployedToAnswerMs: number;
  /** The `deployed` event's own `ms` (the dev process's rebuild, start to swap). */
  deployedEventMs: number;
}

async function devSession(template: string, work: string, session: number, editSamples: EditSample[]): Promise<{ first: FirstAnswer; dist: string }> {
  const spec = templates[template];
  const dir = join(work, `${template}-dev-${session}`);
  const t0 = performance.now();
  await alga(['component', 'new', dir, '--template', template], work);
  const tNew = performance.now();
  const dev = startDev(dir);
  try {
    const ready = await dev.waitForEvent((e) => e.event === 'ready', 180_000);
    const deployed = (await dev.waitForEvent((e) => e.event === 'deployed', 1_000)).value;
    const { url, endpoints } = ready.value as unknown as { url: string; endpoints: Array<{ method: string; path: string }> };
    if (!endpoints.some((e) => e.method === 'GET' && e.path === spec.endpoint)) throw new Error(`${template} no longer declares GET ${spec.endpoint}: ${JSON.stringify(endpoints)}`);
    const endpoint = `${url}${spec.endpoint}`;
    const answer = await pollUntil(endpoint, (status) => status === 200, 30_000);
    const phases = Object.fromEntries(Object.entries(phasesSince(dev, 0)).map(([k, v]) => [k, v.ms]));
    const first: FirstAnswer = {
      totalMs: Math.round(answer.at - t0), newMs: Math.round(tNew - t0), devToReadyMs: Math.round(ready.at - tNew), devStartMs: Math.round(ready.at - tNew) - (deployed.ms as number),
      firstBuildDeployMs: deployed.ms as number, readyToAnswerMs: Math.round(answer.at - ready.at), phases,
    };

    await dev.watchShell(url);
    const source = join(dir, 'src/index.ts');
    let text = await readFile(source, 'utf8');
    for (let edit = 1; edit <= EDITS; edit++) {
      const marker = `bench-edit-${session}-${edit}-${Date.now().toString(36)}`;
      text = spec.edit(text, marker);
      const fromEvents = dev.events.length;
      const fromStderr = dev.stderr.length;
      const fromShell = dev.shell.length;
      const written = performance.now();
      await writeFile(source, text);
      const served = await pollUntil(endpoint, (status, body) => status === 200 && body.includes(marker), 120_000);
      const swap = await dev.waitForEvent((e) => (e.event === 'deployed' && e.swapped === true) || e.event === 'build-failed', 10_000, fromEvents);
      if (swap.value.event !== 'deployed') throw new Error(`the edit failed to build: ${JSON.stringify(swap.value)}`);
      const building = dev.shell.slice(fromShell).find((e) => e.value === 'building');
      const p = phasesSince(dev, fromStderr);
      if (!building || !p.typecheck || !p.bundle || !p.componentize) throw new Error(`missing build progress for an edit: shell ${JSON.stringify(dev.shell.slice(fromShell))}; stderr ${JSON.stringify(dev.stderr.slice(fromStderr).map((l) => l.value))}`);
      const typecheckStarted = p.typecheck.at - p.typecheck.ms;
      editSamples.push({
        session, edit, totalMs: Math.round(served.at - written), polls: served.polls,
        watchMs: Math.round(building.at - written),
        buildStartMs: Math.round(typecheckStarted - building.at),
        typecheckMs: p.typecheck.ms, bundleMs: p.bundle.ms, componentizeMs: p.componentize.ms,
        betweenPhasesMs: Math.round(p.componentize.at - p.typecheck.at - p.bundle.ms - p.componentize.ms),
        packDeployMs: Math.round(swap.at - p.componentize.at),
        deployedToAnswerMs: Math.round(served.at - swap.at),
        deployedEventMs: swap.value.ms as number,
      });
      // Let the watcher settle (a save can fire twice) before the next edit.
      await sleep(300);
    }
    return { first, dist: join(dir, 'dist') };
  } finally {
    await dev.stop();
  }
}

/**
 * The dev process's deploy path replayed here on the same dist/, stage by stage (2 runs, each
 * with an empty bundle store and transpile cache): pack as dev calls it (and `{ local: true }`
 * for comparison), read the bundle, store it, load it (jco transpile off-thread + compile).
 */
async function timeDeployPath(dist: string, scratch: string) {
  const samples: Record<'packMs' | 'packLocalMs' | 'readBundleMs' | 'storePutMs' | 'transpileCompileMs', number[]> = { packMs: [], packLocalMs: [], readBundleMs: [], storePutMs: [], transpileCompileMs: [] };
  let bytes = 0;
  let localBytes = 0;
  for (let i = 0; i < 2; i++) {
    const root = join(scratch, `deploy-${i}`);
    const store = new FileBundleStore(join(root, 'bundles'));
    const loader = new ComponentLoader({ bundleStore: store, transpileCache: new TranspileCache(join(root, 'transpile-cache')) });
    let t = performance.now();
    localBytes = (await packBuildOutput(dist, { local: true })).byteLength;
    samples.packLocalMs.push(performance.now() - t);
    t = performance.now();
    const bundle = await packBuildOutput(dist);
    samples.packMs.push(performance.now() - t);
    bytes = bundle.byteLength;
    t = performance.now();
    await readBundle(bundle);
    samples.readBundleMs.push(performance.now() - t);
    t = performance.now();
    const hash = await store.put(bundle);
    samples.storePutMs.push(performance.now() - t);
    t = performance.now();
    await loader.load(hash);
    samples.transpileCompileMs.push(performance.now() - t);
    await rm(root, { recursive: true, force: true });
  }
  return {
    note: 'the dev deploy path replayed in the bench process on the last session\'s dist/ (2 runs, empty store and transpile cache each): p50 ms',
    ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v).p50])) as Record<keyof typeof samples, number>,
    bundleBytes: bytes, localBundleBytes: localBytes,
  };
}

const round = (v: number) => Math.round(v);
const mean = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const load = { start: loadavg().map((v) => Number(v.toFixed(2))), end: [] as number[] };
const work = await mkdtemp(join(tmpdir(), 'alga-cli-bench-'));
const started = performance.now();
const rows: Array<Record<string, number | string>> = [];
const devLoop: Record<string, unknown> = {};
const verdicts: Array<{ template: string; measure: string; p50: number; max?: number; target: string; verdict: string }> = [];
const splits: Array<{ template: string; mean: Record<string, number>; first: Record<string, number> }> = [];
try {
  for (const template of Object.keys(templates)) {
    // 1. builds, one `alga component build` process each
    const dir = join(work, template);
    const newMs = await alga(['component', 'new', dir, '--template', template], work);
    const firstBuildMs = await alga(['component', 'build'], dir);
    const noopMs = await alga(['component', 'build'], dir);
    const source = join(dir, 'src/index.ts');
    await writeFile(source, templates[template].edit(await readFile(source, 'utf8'), 'bench-build-edit'));
    const editMs = await alga(['component', 'build'], dir);
    const componentBytes = (await stat(join(dir, 'dist/component.wasm'))).size;
    rows.push({ template, newMs: round(newMs), firstBuildMs: round(firstBuildMs), noopRebuildMs: round(noopMs), editRebuildMs: round(editMs), componentMiB: Number((componentBytes / 1048576).toFixed(1)) });
    await rm(dir, { recursive: true, force: true });

    // 2. the dev loop, a fresh project (cold .alga/) per session
    const firsts: FirstAnswer[] = [];
    const edits: EditSample[] = [];
    let dist = '';
    for (let session = 1; session <= ITERATIONS; session++) {
      const result = await devSession(template, work, session, edits);
      firsts.push(result.first);
      dist = result.dist;
      console.log(`  ${template} session ${session}: new → first answer ${seconds(result.first.totalMs)}; edits → served ${edits.filter((e) => e.session === session).map((e) => seconds(e.totalMs)).join(', ')}`);
    }
    const deployPath = await timeDeployPath(dist, work);
    for (let session = 1; session <= ITERATIONS; session++) await rm(join(work, `${template}-dev-${session}`), { recursive: true, force: true });

    const firstStats = stats(firsts.map((f) => f.totalMs));
    const editStats = stats(edits.map((e) => e.totalMs));
    const parts = ['watchMs', 'buildStartMs', 'typecheckMs', 'bundleMs', 'componentizeMs', 'betweenPhasesMs', 'packDeployMs', 'deployedToAnswerMs'] as const;
    const splitMean = Object.fromEntries(parts.map((k) => [k, mean(edits.map((e) => e[k]))])) as Record<string, number>;
    const splitP50 = Object.fromEntries(parts.map((k) => [k, stats(edits.map((e) => e[k])).p50])) as Record<string, number>;
    const firstSplit = {
      newMs: mean(firsts.map((f) => f.newMs)), devStartMs: mean(firsts.map((f) => f.devStartMs)),
      typecheckMs: mean(firsts.map((f) => f.phases.typecheck ?? 0)), bundleMs: mean(firsts.map((f) => f.phases.bundle ?? 0)), componentizeMs: mean(firsts.map((f) => f.phases.componentize ?? 0)),
      restOfBuildDeployMs: mean(firsts.map((f) => f.firstBuildDeployMs - (f.phases.typecheck ?? 0) - (f.phases.bundle ?? 0) - (f.phases.componentize ?? 0))),
      readyToAnswerMs: mean(firsts.map((f) => f.readyToAnswerMs)), totalMs: mean(firsts.map((f) => f.totalMs)),
    };
    splits.push({ template, first: firstSplit, mean: { ...splitMean, totalMs: mean(edits.map((e) => e.totalMs)), packMs: round(deployPath.packMs), packLocalMs: round(deployPath.packLocalMs), readBundleMs: round(deployPath.readBundleMs), storePutMs: round(deployPath.storePutMs), transpileCompileMs: round(deployPath.transpileCompileMs) } });
    const verdict = (s: LatencyStats, target: number) => (s.max <= target ? 'pass' : s.p50 <= target ? 'pass at p50, max over' : 'over');
    const editRow = rows[rows.length - 1];
    verdicts.push(
      { template, measure: `new → first answer (GET ${templates[template].endpoint}, cold)`, p50: firstStats.p50, max: firstStats.max, target: `≤ ${targets.newToFirstAnswerMs / 1000} s`, verdict: verdict(firstStats, targets.newToFirstAnswerMs) },
      { template, measure: 'edit saved → new answer served', p50: editStats.p50, max: editStats.max, target: `≤ ${targets.editToServedMs / 1000} s`, verdict: verdict(editStats, targets.editToServedMs) },
      { template, measure: 'no-op rebuild (alga component build)', p50: editRow.noopRebuildMs as number, target: `< ${targets.noopRebuildMs / 1000} s`, verdict: (editRow.noopRebuildMs as number) < targets.noopRebuildMs ? 'pass' : 'over' },
    );
    devLoop[template] = {
      endpoint: `GET ${templates[template].endpoint}`,
      newToFirstAnswer: { stats: firstStats, samples: firsts, splitMeanMs: firstSplit, targetMs: targets.newToFirstAnswerMs, verdict: verdict(firstStats, targets.newToFirstAnswerMs) },
      editToServed: {
        stats: editStats, samples: edits, targetMs: targets.editToServedMs, verdict: verdict(editStats, targets.editToServedMs), pollMs: POLL_MS,
        split: { meanMs: splitMean, p50Ms: splitP50, parts: {
          watchMs: 'write → the shell SSE `building` event (file watcher + 100 ms debounce)',
          buildStartMs: '`building` → typecheck start: load project, editor types, input hash, fork the build child, load TypeScript',
          typecheckMs: 'stderr `typecheck X s`', bundleMs: 'stderr `bundle X s`', componentizeMs: 'stderr `componentize X s` (includes loading componentize-js)',
          betweenPhasesMs: 'typecheck line → componentize line, less bundle and componentize',
          packDeployMs: 'componentize line → `deployed` event: child exit, build-cache and dist/ copies, pack (gzip), readBundle, bundle store, transpile + compile, warm',
          deployedToAnswerMs: '`deployed` → first new answer seen by the 20 ms poll',
        } },
      },
      deployPath,
      ratios: {
        editServedVsCliEditRebuild: Number((editStats.p50 / (editRow.editRebuildMs as number)).toFixed(2)),
        firstAnswerVsCliNewPlusFirstBuild: Number((firstStats.p50 / ((editRow.newMs as number) + (editRow.firstBuildMs as number))).toFixed(2)),
      },
    };
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
load.end = loadavg().map((v) => Number(v.toFixed(2)));
const totalSeconds = Math.round((performance.now() - started) / 1000);

console.log(`\nalga developer loop (whole processes, wall time; ${cpus().length} cores, node ${process.version}, load avg ${load.start[0]} → ${load.end[0]}, ${totalSeconds} s)`);
console.log('template            new      first build  no-op rebuild  edit rebuild  component');
for (const r of rows) {
  console.log(`${String(r.template).padEnd(18)}  ${`${r.newMs} ms`.padEnd(8)} ${`${r.firstBuildMs} ms`.padEnd(12)} ${`${r.noopRebuildMs} ms`.padEnd(14)} ${`${r.editRebuildMs} ms`.padEnd(13)} ${r.componentMiB} MiB`);
}
console.log(`\ndev loop targets (alga component dev; ${ITERATIONS} fresh project${ITERATIONS === 1 ? '' : 's'} per template, ${EDITS} edit${EDITS === 1 ? '' : 's'} each; n = samples)`);
console.log(`${'template'.padEnd(18)}  ${'measure'.padEnd(44)} ${'n'.padEnd(3)} ${'p50'.padEnd(9)} ${'max'.padEnd(9)} ${'target'.padEnd(8)} verdict`);
for (const v of verdicts) {
  const n = v.max === undefined ? 1 : (devLoop[v.template] as any)[v.measure.startsWith('new') ? 'newToFirstAnswer' : 'editToServed'].stats.n;
  console.log(`${v.template.padEnd(18)}  ${v.measure.padEnd(44)} ${String(n).padEnd(3)} ${seconds(v.p50).padEnd(9)} ${(v.max === undefined ? '–' : seconds(v.max)).padEnd(9)} ${v.target.padEnd(8)} ${v.verdict}`);
}
console.log('\nnew → first answer, where the time goes (mean ms over the sessions)');
console.log(`${'template'.padEnd(18)}  new    dev start  typecheck  bundle  componentize  rest of build+pack+deploy  →answer  total`);
for (const { template, first: f } of splits) {
  console.log(`${template.padEnd(18)}  ${String(f.newMs).padEnd(6)} ${String(f.devStartMs).padEnd(10)} ${String(f.typecheckMs).padEnd(10)} ${String(f.bundleMs).padEnd(7)} ${String(f.componentizeMs).padEnd(13)} ${String(f.restOfBuildDeployMs).padEnd(26)} ${String(f.readyToAnswerMs).padEnd(8)} ${f.totalMs}`);
}
console.log('\nedit → served, where the time goes (mean ms over the edits)');
console.log(`${'template'.padEnd(18)}  watch  start  typecheck  bundle  componentize  between  pack+deploy  →answer  total`);
for (const s of splits) {
  const m = s.mean;
  console.log(`${s.template.padEnd(18)}  ${String(m.watchMs).padEnd(6)} ${String(m.buildStartMs).padEnd(6)} ${String(m.typecheckMs).padEnd(10)} ${String(m.bundleMs).padEnd(7)} ${String(m.componentizeMs).padEnd(13)} ${String(m.betweenPhasesMs).padEnd(8)} ${String(m.packDeployMs).padEnd(12)} ${String(m.deployedToAnswerMs).padEnd(8)} ${m.totalMs}`);
}
console.log('pack+deploy replayed in this process on the same dist/ (p50 ms): pack as dev / pack { local }, read bundle, store, transpile + compile');
for (const s of splits) console.log(`${s.template.padEnd(18)}  ${s.mean.packMs} / ${s.mean.packLocalMs}, ${s.mean.readBundleMs}, ${s.mean.storePutMs}, ${s.mean.transpileCompileMs}`);
await mkdir(resultsDir, { recursive: true });
await writeFile(join(resultsDir, 'cli.json'), `${JSON.stringify({
  measuredAt: new Date().toISOString(), node: process.version, cores: cpus().length, loadAverage: load, totalSeconds, quick,
  iterations: ITERATIONS, editsPerSession: EDITS, targets, rows, verdicts, devLoop,
}, null, 2)}\n`);
console.log(`wrote ${join(resultsDir, 'cli.json')}`);
