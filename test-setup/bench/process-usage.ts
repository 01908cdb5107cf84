/**
 * CPU and memory of the process(es) serving a scenario: /proc/<pid>/stat (utime + stime, every
 * thread of the process) and /proc/<pid>/status (VmRSS) for children, process.cpuUsage() and
 * memoryUsage().rss for this process. CPU is read as a counter before and after a level, so a
 * scenario reports user+system ms per request.
 *
 * @example
 *   const probe = childUsage([runnerPid]);
 *   const before = await probe.cpuMs(); ...; const perRequest = (await probe.cpuMs() - before) / requests;
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export interface UsageProbe {
  /** What the figures cover, for the report ("runner process", "bench process, client included"). */
  covers: string;
  /** Cumulative user + system CPU ms (async: some probes ask a server which processes to count). */
  cpuMs(): Promise<number>;
  /** Resident set size now, MB (the sum over the processes). */
  rssMb(): number;
}

let clockTicks: number | undefined;

/** USER_HZ: the unit of utime/stime (100 on every Linux seen, but asked rather than assumed). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try { clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { clockTicks = 100; }
  }
  return clockTicks;
}

/** utime + stime of one process in ms; the command name may hold spaces and parens, so fields count from the last ')'. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state(0) ppid(1) … utime(11) stime(12).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
}

export function processRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Direct children of `pid` (e.g. the runner a gateway child started), from every thread's children list. */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) out.add(Number(c));
    } catch { /* the thread ended meanwhile */ }
  }
  return [...out];
}

export function childUsage(pids: number[], covers: string): UsageProbe {
  return {
    covers,
    cpuMs: async () => pids.reduce((n, pid) => n + processCpuMs(pid), 0),
    rssMb: () => Math.round(pids.reduce((n, pid) => n + processRssMb(pid), 0) * 10) / 10,
  };
}

/** This process (worker threads included): the load generator's own work is in it too. */
export function selfUsage(covers: string): UsageProbe {
  return {
    covers,
    cpuMs: async () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; },
    rssMb: () => Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10,
  };
}

/** Several probes as one: CPU added up; RSS of the first only (e.g. a database server's shared memory would swamp it). */
export function combinedUsage(covers: string, probes: UsageProbe[]): UsageProbe {
  return {
    covers,
    cpuMs: async () => (await Promise.all(probes.map((p) => p.cpuMs()))).reduce((a, b) => a + b, 0),
    rssMb: () => probes[0].rssMb(),
  };
}
