/** The Executions tab: the install's audit rows, newest first, with "Failures only", live and paging. */
import { useId } from 'react';
import type { Execution, Install } from '../../api/types.ts';
import { Badge, type BadgeTone } from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { ErrorState } from '../../components/ErrorState.tsx';
import { Loading } from '../../components/Loading.tsx';
import { DataTable } from '../../components/Table.tsx';
import { setSearchParam, useSearchParam } from '../../router.tsx';
import { FeedFooter, LiveAnnouncer, PollWarning, RequestIdButton } from './feed-parts.tsx';
import { formatClock, formatDuration, formatFull, plural } from './format.ts';
import { useActivityFeed } from './use-activity-feed.ts';

/** A row is written when the request starts; status, duration and error code when it ends. */
const inProgress = (e: Execution) => e.status === null && e.errorCode === null;
const failed = (e: Execution) => e.errorCode !== null || (e.status !== null && e.status >= 500);

function statusBadge(e: Execution) {
  if (e.status === null) {
    if (e.errorCode !== null) return <Badge tone="danger">No response</Badge>;
    return Date.now() - new Date(e.at).getTime() < 60_000 ? <Badge tone="info">Running</Badge> : <Badge tone="neutral" title="The gateway recorded no result for this request">Unknown</Badge>;
  }
  const tone: BadgeTone = e.status >= 500 || e.errorCode !== null ? 'danger' : e.status >= 400 ? 'warning' : 'success';
  return <Badge tone={tone}>{e.status}</Badge>;
}

export function ExecutionsPanel({ install, live, limit, onShowLogs }: { install: Install; live: boolean; limit: number; onShowLogs: (requestId: string) => void }) {
  const failuresOnly = useSearchParam('outcome') === 'error';
  const feed = useActivityFeed<Execution>({
    path: `/api/v1/installs/${encodeURIComponent(install.id)}/executions`,
    items: 'executions',
    query: { limit, outcome: failuresOnly ? 'error' : undefined },
    live,
    isPending: inProgress,
    describeNew: (n) => plural(n, failuresOnly ? 'new failed execution' : 'new execution', failuresOnly ? 'new failed executions' : 'new executions'),
  });
  const radioName = useId();
  const setFilter = (value: 'all' | 'error') => setSearchParam('outcome', value === 'error' ? 'error' : null);

  let body;
  if (feed.error) body = <ErrorState error={feed.error} onRetry={feed.reload} />;
  else if (feed.loading) body = <Loading label={failuresOnly ? 'Loading failed executions' : 'Loading recent executions'} />;
  else if (feed.rows.length === 0) {
    body = failuresOnly
      ? <EmptyState title="No failures" action={<Button onClick={() => setFilter('all')}>Show all requests</Button>}>None of this install's recent requests failed.</EmptyState>
      : (
        <EmptyState title="No requests yet">
          Calls to its endpoints, under <code className="break">/api/ext/{install.extensionName}/</code>, show up here as they happen.
        </EmptyState>
      );
  } else {
    body = (
      <>
        <DataTable
          caption={failuresOnly ? 'Failed executions' : 'Recent executions'}
          rows={feed.rows}
          rowKey={(e) => String(e.id)}
          columns={[
            { header: 'Time', render: (e) => (
              <span className="time-cell">
                <time dateTime={e.at} title={formatFull(e.at)}>{formatClock(e.at)}</time>
                {feed.freshIds.has(e.id) && <Badge tone="info">New</Badge>}
              </span>
            ) },
            { header: 'Endpoint', render: (e) => <span className="mono break">{e.route}</span> },
            { header: 'Status', render: statusBadge },
            { header: 'Duration', align: 'end', render: (e) => formatDuration(e.durationMs) },
            { header: 'Error', render: (e) => (e.errorCode ? <code className={failed(e) ? 'error-code' : undefined}>{e.errorCode}</code> : <span className="muted">—</span>) },
            { header: 'Request ID', render: (e) => <RequestIdButton requestId={e.requestId} onShowLogs={onShowLogs} /> },
          ]}
        />
        <FeedFooter feed={feed} noun={failuresOnly ? { one: 'failed execution', many: 'failed executions' } : { one: 'execution', many: 'executions' }} />
      </>
    );
  }

  return (
    <div className="activity-panel">
      <div className="activity-toolbar">
        <fieldset className="segmented">
          <legend className="visually-hidden">Which requests</legend>
          <input type="radio" id={`${radioName}-all`} name={radioName} checked={!failuresOnly} onChange={() => setFilter('all')} />
          <label htmlFor={`${radioName}-all`}>All requests</label>
          <input type="radio" id={`${radioName}-error`} name={radioName} checked={failuresOnly} onChange={() => setFilter('error')} />
          <label htmlFor={`${radioName}-error`}>Failures only</label>
        </fieldset>
        {feed.rows.length > 0 && <p className="toolbar-hint">Select a request ID to see what that request logged.</p>}
      </div>
      <LiveAnnouncer announcement={feed.announcement} />
      <PollWarning feed={feed} live={live} />
      {body}
    </div>
  );
}
