/**
 * A PostgreSQL server of a test's own: a cluster made with `initdb` in a temp directory, on a
 * free port, that the test may stop, start and restart without touching the server the rest of
 * the suite shares while other files run in parallel. Its server log is kept for leak greps.
 *
 * @example
 *   const pg = await startPostgresCluster();      // pg.url = postgres://alga@127.0.0.1:<port>/alga
 *   await pg.stop(); await pg.start();
 *   await pg.close();                              // stops it and deletes the directory
 */
import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './gateway-harness.ts';

const run = promisify(execFile);

/** The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin), or undefined. */
export async function postgresBinDir(): Promise<string | undefined> {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = (await readdir(root)).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
  return majors.map((m) => join(root, m, 'bin')).find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')));
}

export interface PostgresCluster {
  url: string;
  port: number;
  /** The server's own log (what it wrote while running). */
  serverLog(): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = await postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/<major>/bin (apt-get install postgresql)');
  const dir = await mkdtemp(join(tmpdir(), 'alga-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  // initdb refuses to run as root: as root, the cluster belongs to the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = (tool: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args));
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'alga', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const ctl = (action: 'start' | 'stop') => pg('pg_ctl', action === 'start'
    ? ['-D', data, '-l', logFile, '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']
    : ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
  await ctl('start');
  await pg('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'alga', 'alga']);
  let running = true;
  return {
    url: `postgres://alga@127.0.0.1:${port}/alga`,
    port,
    serverLog: () => readFile(logFile, 'utf8').catch(() => ''),
    async stop() { await ctl('stop'); running = false; },
    async start() { await ctl('start'); running = true; },
    async close() {
      if (running) await ctl('stop').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
