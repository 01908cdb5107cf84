/**
 * The Logs tab: the guest's log lines, newest first, filtered by minimum level and by request.
 * Secret values arrive already redacted ("[REDACTED]"): the runner replaces them before a line is
 * stored. An unhandled error's stack opens in a disclosure, mapped to TypeScript when possible.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import type { GuestLogLine, Install } from '../../api/types.ts';
import { Badge, type BadgeTone } from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { ErrorState } from '../../components/ErrorState.tsx';
import { Loading } from '../../components/Loading.tsx';
import { navigate, setSearchParam, useSearchParam } from '../../router.tsx';
import { FeedFooter, LiveAnnouncer, PollWarning, RequestIdButton } from './feed-parts.tsx';
import { formatClock, formatFull, plural } from './format.ts';
import { useActivityFeed } from './use-activity-feed.ts';

const levels = [
  { value: '', label: 'All levels' },
  { value: 'info', label: 'Info and above' },
  { value: 'warn', label: 'Warnings and errors' },
  { value: 'error', label: 'Errors only' },
] as const;
type Level = 'debug' | 'info' | 'warn' | 'error';

const levelTone: Record<string, BadgeTone> = { debug: 'neutral', info: 'info', warn: 'warning', error: 'danger' };

export function LogsPanel({ install, live, limit, onShowLogs }: { install: Install; live: boolean; limit: number; onShowLogs: (requestId: string) => void }) {
  const levelParam = useSearchParam('level');
  const level = levels.some((l) => l.value && l.value === levelParam) ? (levelParam as Level) : undefined;
  const requestId = useSearchParam('requestId')?.trim() || undefined;
  const feed = useActivityFeed<GuestLogLine>({
    path: `/api/v1/installs/${encodeURIComponent(install.id)}/logs`,
    items: 'logs',
    query: { limit, level, requestId },
    live,
    describeNew: (n) => plural(n, 'new log line'),
  });
  const filtered = level !== undefined || requestId !== undefined;
  const clearFilters = () => {
    const url = new URL(window.location.href);
    url.searchParams.delete('level');
    url.searchParams.delete('requestId');
    navigate(`${url.pathname}${url.search}`, { replace: true });
  };

  let body;
  if (feed.error) body = <ErrorState error={feed.error} onRetry={feed.reload} />;
  else if (feed.loading) body = <Loading label="Loading log lines" />;
  else if (feed.rows.length === 0) {
    body = filtered
      ? (
        <EmptyState title="No log lines match" action={<Button onClick={clearFilters}>Clear filters</Button>}>
          {requestId ? 'That request logged nothing at this level (or its lines are no longer kept).' : 'Nothing recent was logged at this level.'}
        </EmptyState>
      )
      : (
        <EmptyState title="No log lines yet">
          What the extension writes with <code>ctx.log</code> shows up here. Secret values are redacted before lines are stored.
        </EmptyState>
      );
  } else {
    body = (
      <>
        <div className="card log-card">
          <ol className="log-list" aria-label={requestId ? `Log lines of request ${requestId}` : 'Log lines'}>
            {feed.rows.map((line) => <LogLine key={line.id} line={line} fresh={feed.freshIds.has(line.id)} currentRequest={requestId} onShowLogs={onShowLogs} />)}
          </ol>
        </div>
        <FeedFooter feed={feed} noun={{ one: 'log line', many: 'log lines' }} />
      </>
    );
  }

  return (
    <div className="activity-panel">
      <LogFilters level={level} requestId={requestId} onClear={clearFilters} />
      <LiveAnnouncer announcement={feed.announcement} />
      <PollWarning feed={feed} live={live} />
      {body}
    </div>
  );
}

function LogFilters({ level, requestId, onClear }: { level: Level | undefined; requestId: string | undefined; onClear: () => void }) {
  const id = useId();
  const [draft, setDraft] = useState(requestId ?? '');
  useEffect(() => { setDraft(requestId ?? ''); }, [requestId]);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setSearchParam('requestId', draft.trim() || null);
  };
  return (
    <div className="activity-toolbar">
      <div className="activity-filters">
        <div className="field">
          <label htmlFor={`${id}-level`}>Minimum level</label>
          <select id={`${id}-level`} value={level ?? ''} onChange={(e) => setSearchParam('level', e.target.value || null)}>
            {levels.map((l) => <option key={l.value} value={l.value}>{l.label}</option>)}
          </select>
        </div>
        <form className="request-filter" role="search" aria-label="Log lines of one request" onSubmit={apply}>
          <div className="field">
            <label htmlFor={`${id}-request`}>Request ID</label>
            <input
              id={`${id}-request`}
              className="mono"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              placeholder="e.g. from an error message"
              autoComplete="off"
              spellCheck={false}
              aria-describedby={`${id}-request-hint`}
            />
          </div>
          <Button type="submit">Filter</Button>
        </form>
      </div>
      <p id={`${id}-request-hint`} className="visually-hidden">Shows only the lines one request logged. Request IDs are in every error answer and in the Executions tab.</p>
      {(level || requestId) && (
        <div className="active-filters" aria-label="Active filters" role="group">
          {requestId && <span className="filter-chip">Request <span className="mono break">{requestId}</span></span>}
          {level && <span className="filter-chip">{levels.find((l) => l.value === level)?.label}</span>}
          <Button size="sm" variant="ghost" onClick={onClear}>Clear filters</Button>
        </div>
      )}
    </div>
  );
}

function LogLine({ line, fresh, currentRequest, onShowLogs }: { line: GuestLogLine; fresh: boolean; currentRequest: string | undefined; onShowLogs: (requestId: string) => void }) {
  const { stack, ...rest } = line.fields ?? {};
  const fields = Object.entries(rest);
  const rawStack = typeof stack === 'string' && stack ? stack : undefined;
  return (
    <li className={`log-line log-${line.level}`}>
      <div className="log-meta">
        <time className="mono log-time" dateTime={line.at} title={formatFull(line.at)}>{formatClock(line.at, { ms: true })}</time>
        <Badge tone={levelTone[line.level] ?? 'neutral'}>{line.level}</Badge>
        {fresh && <Badge tone="info">New</Badge>}
      </div>
      <div className="log-main">
        <p className="log-message">{line.message}</p>
        {fields.length > 0 && (
          <dl className="log-fields">
            {fields.map(([k, v]) => (
              <div className="log-field" key={k}><dt>{k}</dt><dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd></div>
            ))}
          </dl>
        )}
        {(line.mappedStack || rawStack) && (
          <details className="log-stack">
            <summary>Stack trace{line.mappedStack ? ' (TypeScript)' : ''}</summary>
            <pre>{line.mappedStack ?? rawStack}</pre>
            {line.mappedStack && rawStack && (
              <details className="log-stack log-stack-raw">
                <summary>As thrown (bundled JavaScript)</summary>
                <pre>{rawStack}</pre>
              </details>
            )}
          </details>
        )}
      </div>
      <div className="log-request">
        <span className="log-request-label">Request</span>
        <RequestIdButton requestId={line.requestId} onShowLogs={onShowLogs} current={currentRequest === line.requestId} />
      </div>
    </li>
  );
}
