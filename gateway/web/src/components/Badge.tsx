/**
 * A small status label. `tone`: neutral, info, success, warning, danger.
 * `statusTone(status)` maps an install status to its tone.
 *
 * @example
 *   <Badge tone={statusTone(install.status)}>{install.status}</Badge>
 */
import type { ReactNode } from 'react';

export type BadgeTone = 'neutral' | 'info' | 'success' | 'warning' | 'danger';

export function Badge({ tone = 'neutral', children, title }: { tone?: BadgeTone; children: ReactNode; title?: string }) {
  return <span className={`badge badge-${tone}`} title={title}>{children}</span>;
}

export function statusTone(status: string): BadgeTone {
  if (status === 'enabled') return 'success';
  if (status === 'disabled') return 'neutral';
  return 'info';
}
