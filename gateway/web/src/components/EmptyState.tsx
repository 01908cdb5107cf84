/**
 * Nothing to show yet: a title, a sentence saying why or what to do, and an optional action.
 *
 * @example
 *   <EmptyState title="No extensions installed" action={<Link to={paths.extensionsTab('available')} className={buttonClass('primary')}>Browse available</Link>}>
 *     Install one from the Available tab.
 *   </EmptyState>
 */
import type { ReactNode } from 'react';

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty-state">
      <div className="empty-state-icon" aria-hidden="true" />
      <h2 className="empty-state-title">{title}</h2>
      {children && <div className="empty-state-body">{children}</div>}
      {action && <div className="empty-state-action">{action}</div>}
    </div>
  );
}
