/** Pieces both activity lists share: the request-id button, the live region, the poll warning and the paging footer. */
import { useEffect, useRef } from 'react';
import { describeError } from '../../components/ErrorState.tsx';
import { Button } from '../../components/Button.tsx';
import type { FeedState } from './use-activity-feed.ts';
import { shortId } from './format.ts';

/** The request's short id; it opens that request's log lines. The full id is in the accessible name. */
export function RequestIdButton({ requestId, onShowLogs, current = false }: { requestId: string; onShowLogs: (requestId: string) => void; current?: boolean }) {
  if (current) return <span className="mono request-id" title={requestId}>{shortId(requestId)}</span>;
  return (
    <button type="button" className="link-button mono request-id" title={`Show the log lines of request ${requestId}`} onClick={() => onShowLogs(requestId)}>
      {shortId(requestId)}<span className="visually-hidden">: log lines of request {requestId}</span>
    </button>
  );
}

/** Polite announcements of what a poll added; a new node per announcement so repeats are read too. */
export function LiveAnnouncer({ announcement }: { announcement: FeedState<unknown>['announcement'] }) {
  return (
    <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
      {announcement.text && <span key={announcement.seq}>{announcement.text}</span>}
    </div>
  );
}

export function PollWarning({ feed, live }: { feed: FeedState<unknown>; live: boolean }) {
  if (!live || !feed.pollError) return null;
  return (
    <p className="notice notice-warning live-warning">
      Live updates are failing: {describeError(feed.pollError).body} Still retrying; the rows below are kept.
    </p>
  );
}

/** "Showing 50 executions" and "Load older"; focus stays on the footer when the button goes away. */
export function FeedFooter({ feed, noun }: { feed: FeedState<unknown>; noun: { one: string; many: string } }) {
  const summary = useRef<HTMLParagraphElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const hadFocus = useRef(false);
  // The button is disabled while it loads (which can drop focus) and goes away after the last page.
  useEffect(() => {
    if (feed.loadingOlder || !hadFocus.current) return;
    hadFocus.current = false;
    (feed.hasOlder ? button.current : summary.current)?.focus();
  }, [feed.hasOlder, feed.loadingOlder]);
  const count = feed.rows.length;
  return (
    <div className="feed-footer">
      <p ref={summary} className="feed-summary" tabIndex={-1}>
        {feed.hasOlder ? `Showing the newest ${count} ${count === 1 ? noun.one : noun.many}` : `Showing ${count === 1 ? `1 ${noun.one}` : `all ${count} ${noun.many}`}; there are no older ones`}
      </p>
      {feed.hasOlder && (
        <Button ref={button} busy={feed.loadingOlder} onClick={() => { hadFocus.current = true; feed.loadOlder(); }}>
          Load older<span className="visually-hidden"> {noun.many}</span>
        </Button>
      )}
      {feed.olderError && <p className="field-error feed-older-error" role="alert">Couldn't load older {noun.many}: {describeError(feed.olderError).body}</p>}
    </div>
  );
}
