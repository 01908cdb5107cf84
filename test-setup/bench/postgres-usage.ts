/**
 * CPU of the PostgreSQL backends that serve a process under bench: on PostgreSQL, part of each
 * request's work happens in the database server, not in the gateway. The backends are found by
 * the gateway's own TCP connections to the server (local ports from /proc/<pid>/fd and
 * /proc/<pid>/net/tcp*, matched to pg_stat_activity.client_port), and their CPU is read from
 * /proc like any child's. Only a server on this machine can be measured this way.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import pg from 'pg';
import { processCpuMs, type UsageProbe } from './process-usage.ts';

/** Local ports of `pid`'s TCP connections to `remotePort`. */
function connectionPorts(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try { text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      if (parseInt(f[2].split(':')[1], 16) === remotePort) ports.push(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

export function isLocalDatabase(databaseUrl: string): boolean {
  const host = new URL(databaseUrl).hostname;
  return host === '' || host === 'localhost' || host === '127.0.0.1' || host === '::1' || host === '[::1]';
}

export interface PostgresUsage extends UsageProbe { close(): Promise<void> }

export async function postgresBackendUsage(databaseUrl: string, clientPid: number): Promise<PostgresUsage> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const serverPort = Number(new URL(databaseUrl).port || 5432);
  // Last CPU seen per backend: one that exits keeps what it used, so the sum never goes back.
  const seen = new Map<number, number>();
  return {
    covers: 'PostgreSQL backends of the gateway',
    async cpuMs() {
      const ports = connectionPorts(clientPid, serverPort);
      if (ports.length > 0) {
        const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where client_port = any($1::int[])', [ports]);
        for (const { pid } of rows) if (!seen.has(pid)) seen.set(pid, 0);
      }
      for (const pid of seen.keys()) {
        try { seen.set(pid, processCpuMs(pid)); } catch { /* exited: keep its last figure */ }
      }
      return [...seen.values()].reduce((a, b) => a + b, 0);
    },
    rssMb: () => NaN,
    close: () => client.end(),
  };
}
