/** The machine a bench ran on, recorded with the figures: they mean little without it. */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  /** 1, 5 and 15 minute load averages when the bench started (the machine is shared). */
  loadAverageAtStart: [number, number, number];
  node: string;
  date: string;
}

function cpuModel(): string {
  try { return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim() ?? 'unknown'; } catch { return 'unknown'; }
}

export function machineInfo(): MachineInfo {
  const [a, b, c] = loadavg().map((v) => Number(v.toFixed(2)));
  return { cores: availableParallelism(), cpuModel: cpuModel(), memoryGb: Math.round(totalmem() / 2 ** 30), loadAverageAtStart: [a, b, c], node: process.version, date: new Date().toISOString() };
}
