/** How the activity page writes times, durations and request ids. */

const sameDay = (a: Date, b: Date) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** "14:05:02" today, "3 Mar, 14:05:02" before; `ms` adds milliseconds (log lines). */
export function formatClock(value: string, options: { ms?: boolean } = {}): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '—';
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, ...(options.ms ? { fractionalSecondDigits: 3 } : {}) });
  if (sameDay(date, new Date())) return time;
  const day = date.toLocaleDateString(undefined, { day: 'numeric', month: 'short', ...(date.getFullYear() === new Date().getFullYear() ? {} : { year: 'numeric' }) });
  return `${day}, ${time}`;
}

/** The full date and time, for a tooltip. */
export function formatFull(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** The first block of a UUID: enough to tell requests apart in a list. */
export const shortId = (requestId: string) => requestId.split('-')[0] || requestId.slice(0, 8);

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
