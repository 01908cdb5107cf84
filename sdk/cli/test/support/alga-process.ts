/**
 * The `alga` command as a developer runs it, for the CLI's end-to-end tests: a real process of
 * bin/alga.mjs. `alga()` runs a command to its end; `startAlgaDev()` keeps `component dev`
 * running and reads its `--json` event lines as they come.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const algaBin = fileURLToPath(new URL('../../bin/alga.mjs', import.meta.url));

export interface AlgaRun { code: number; stdout: string; stderr: string; json?: any }

export function alga(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<AlgaRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [algaBin, ...args], { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      let json: unknown;
      if (args.includes('--json')) try { json = JSON.parse(stdout); } catch { /* not JSON */ }
      resolve({ code, stdout, stderr, json });
    });
  });
}

export interface DevEvent { event: string; [key: string]: any }

export interface AlgaDev {
  process: ChildProcess;
  events: DevEvent[];
  stderr(): string;
  /** The next event (after `afterIndex`) matching `match`, waiting up to `timeoutMs`. */
  waitFor(match: (e: DevEvent) => boolean, timeoutMs?: number, afterIndex?: number): Promise<DevEvent>;
  stop(): Promise<number | null>;
}

export function startAlgaDev(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): AlgaDev {
  const child = spawn(process.execPath, [algaBin, 'component', 'dev', '--json', ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: DevEvent[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try { events.push(JSON.parse(line) as DevEvent); } catch { events.push({ event: 'non-json', line }); }
      for (const wake of waiters) wake();
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { for (const wake of waiters) wake(); resolve(code); }));
  return {
    process: child,
    events,
    stderr: () => stderr,
    waitFor(match, timeoutMs = 60_000, afterIndex = -1) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find((e, i) => i > afterIndex && match(e));
          if (found) { done(); resolve(found); return true; }
          if (child.exitCode !== null) { done(); reject(new Error(`alga dev exited (${child.exitCode}) before the event; stderr:\n${stderr}`)); return true; }
          return false;
        };
        const timer = setTimeout(() => { done(); reject(new Error(`no such event within ${timeoutMs} ms; events: ${JSON.stringify(events.map((e) => e.event))}; stderr:\n${stderr.slice(-4000)}`)); }, timeoutMs);
        const wake = () => { check(); };
        const done = () => { clearTimeout(timer); waiters.delete(wake); };
        if (!check()) waiters.add(wake);
      });
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
