/**
 * A service entry point (`gateway/src/main.ts`, `runner/src/main.ts`) as its own process, with
 * exactly the environment a test gives it: for start-up checks that only a real process shows
 * (exit codes, stderr, files left behind).
 *
 * @example
 *   const run = await runUntilExit(gatewayMain, { NODE_ENV: 'production' }, { cwd: dir });
 *   expect(run.code).not.toBe(0);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
export const gatewayMain = join(repoRoot, 'gateway/src/main.ts');
export const runnerMain = join(repoRoot, 'runner/src/main.ts');

export interface ProcessRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

function start(script: string, env: Record<string, string>, cwd: string): ChildProcess {
  // Only PATH is inherited: no ALGA_* or NODE_ENV from the test process reaches the service.
  return spawn(process.execPath, [script], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `script` until it exits (killed after `timeoutMs`, which the caller then sees as `signal`). */
export function runUntilExit(script: string, env: Record<string, string>, opts: { cwd: string; timeoutMs?: number }): Promise<ProcessRun> {
  const started = Date.now();
  const child = start(script, env, opts.cwd);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
  return new Promise((resolve) => child.once('close', (code, signal) => {
    clearTimeout(killer);
    resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
  }));
}

/** Runs `script` until its output matches `ready`; then `stop()` sends SIGTERM and waits for the exit. */
export function runUntilReady(script: string, env: Record<string, string>, ready: RegExp, opts: { cwd: string; timeoutMs?: number }): Promise<{ output: string; stop(): Promise<ProcessRun> }> {
  const started = Date.now();
  const child = start(script, env, opts.cwd);
  let stdout = '';
  let stderr = '';
  const closed = new Promise<ProcessRun>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started })));
  return new Promise((resolve, reject) => {
    const killer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} was not ready in time:\n${stdout}\n${stderr}`)); }, opts.timeoutMs ?? 30_000);
    const check = () => {
      if (!ready.test(stdout)) return;
      clearTimeout(killer);
      resolve({ output: stdout, async stop() { child.kill('SIGTERM'); return closed; } });
    };
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); check(); });
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    void closed.then((run) => { clearTimeout(killer); reject(new Error(`${script} exited (${run.code ?? run.signal}) before it was ready:\n${stdout}\n${stderr}`)); });
  });
}
