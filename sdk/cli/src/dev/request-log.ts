/**
 * What `alga component dev` prints per request: one line (method, path, status, duration, host
 * calls), then the request's guest log lines, and for an unhandled error its stack mapped to the
 * project's TypeScript through `dist/component.js.map`.
 *
 * @example
 *   formatRequest({ method: 'GET', path: '/hello', status: 200, durationMs: 3.2, hostCalls: 2, logs }, mapStack);
 *   // GET /hello → 200  3.2 ms  2 host calls
 *   //   info  greeted tenant=…
 */
import type { GuestLog } from '../local-host/local-host.ts';

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  hostCalls: number;
  logs: GuestLog[];
  errorCode?: string;
  errorMessage?: string;
}

export type StackMapper = (stack: string) => string;

const levelWidth = 5;

export function formatRequest(r: RequestRecord, mapStack?: StackMapper): string[] {
  const calls = `${r.hostCalls} host call${r.hostCalls === 1 ? '' : 's'}`;
  const lines = [`${r.method} ${r.path} → ${r.status}  ${r.durationMs.toFixed(1)} ms  ${calls}${r.errorCode ? `  ${r.errorCode}: ${r.errorMessage ?? ''}` : ''}`];
  for (const log of r.logs) {
    const { stack, ...fields } = log.fields;
    const rest = Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`  ${log.level.padEnd(levelWidth)} ${log.message}${rest ? ` ${rest}` : ''}`);
    if (stack) for (const frame of (mapStack ? mapStack(stack) : stack).split('\n').filter(Boolean)) lines.push(`      ${frame.trim()}`);
  }
  return lines;
}
