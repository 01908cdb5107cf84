/**
 * A request failed: says what happened in words a tenant admin understands and offers a retry.
 * It tells apart the gateway being unreachable, 403 ("You don't have access"), 404 and the rest;
 * the gateway's own message and request id are shown for support.
 *
 * @example
 *   if (state.error) return <ErrorState error={state.error} onRetry={state.reload} />;
 *   <ErrorState error={err} what="this install" />   // "We couldn't find this install"
 */
import { ApiError } from '../api/client.ts';
import { Button } from './Button.tsx';

export interface ErrorStateProps {
  error: unknown;
  onRetry?: () => void;
  /** What was being loaded, for the 404 text ("this install", "this API key"). */
  what?: string;
}

export function describeError(error: unknown, what = 'this page'): { title: string; body: string } {
  if (!(error instanceof ApiError)) return { title: 'Something went wrong', body: error instanceof Error ? error.message : String(error) };
  if (error.unreachable) return { title: "Can't reach the gateway", body: 'The gateway did not answer. Check that it is running and your connection, then try again.' };
  if (error.status === 403 && error.code !== 'E_CSRF') return { title: "You don't have access", body: `Your API key's role does not allow this. Ask a tenant admin for access. (${error.message})` };
  if (error.status === 404) return { title: `We couldn't find ${what}`, body: `It may have been removed, or the link is wrong. (${error.message})` };
  if (error.status >= 500) return { title: 'The gateway could not do this right now', body: error.message };
  return { title: 'Something went wrong', body: error.message };
}

export function ErrorState({ error, onRetry, what }: ErrorStateProps) {
  const { title, body } = describeError(error, what);
  const requestId = error instanceof ApiError ? error.requestId : undefined;
  const code = error instanceof ApiError ? error.code : undefined;
  const retryable = !(error instanceof ApiError) || error.unreachable || error.status >= 500 || error.status === 429;
  return (
    <div className="error-state" role="alert">
      <div className="error-state-icon" aria-hidden="true">!</div>
      <div>
        <h2 className="error-state-title">{title}</h2>
        <p className="error-state-body">{body}</p>
        {(code || requestId) && (
          <p className="error-state-meta">
            {code && <code>{code}</code>}
            {requestId && <span> · request {requestId}</span>}
          </p>
        )}
        {onRetry && (
          <Button variant={retryable ? 'primary' : 'secondary'} size="sm" onClick={onRetry}>Try again</Button>
        )}
      </div>
    </div>
  );
}
