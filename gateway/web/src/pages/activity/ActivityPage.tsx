/**
 * `/admin/extensions/:installId/activity[?tab=executions|logs&outcome=error&level=…&requestId=…&limit=…]`:
 * what happened in one install, for support and debugging.
 *
 * - Executions: the audit rows (time, endpoint, status, duration, error code, request id), newest
 *   first; "Failures only" is `outcome=error`.
 * - Logs: what the guest wrote with `ctx.log` (level, message, fields; the runner has redacted
 *   secret values before they were stored), filtered by minimum level and by request; an unhandled
 *   error's stack is in a disclosure, mapped to the extension's TypeScript when its bundle has a map.
 *   A request id in either list shows that request's log lines.
 * - Live: while the browser tab is visible the open list asks every 2 s for newer rows and puts
 *   them on top (announced politely: "2 new executions"); Pause / Resume in the header.
 * - Paging: "Load older" asks for the page before the oldest row. `limit` (1–200, default 50) is the
 *   page size.
 *
 * Filters live in the URL, so a filtered view can be linked (e.g. from a support ticket).
 */
import { useState } from 'react';
import { Button } from '../../components/Button.tsx';
import { InstallPage } from '../../components/InstallPage.tsx';
import { Tabs } from '../../components/Tabs.tsx';
import { navigate, setSearchParam, useSearchParam } from '../../router.tsx';
import { ExecutionsPanel } from './ExecutionsPanel.tsx';
import { LogsPanel } from './LogsPanel.tsx';
import './activity.css';

type Tab = 'executions' | 'logs';

const defaultLimit = 50;

function pageSize(value: string | null): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 200 ? n : defaultLimit;
}

export function ActivityPage({ installId }: { installId: string }) {
  const [live, setLive] = useState(true);
  const tab: Tab = useSearchParam('tab') === 'logs' ? 'logs' : 'executions';
  const limit = pageSize(useSearchParam('limit'));

  /** A request's log lines: the Logs tab filtered to it (a new history entry, so Back returns). */
  const showLogsOf = (requestId: string) => {
    const url = new URL(window.location.href);
    url.searchParams.set('tab', 'logs');
    url.searchParams.set('requestId', requestId);
    url.searchParams.delete('level');
    navigate(`${url.pathname}${url.search}`);
  };

  return (
    <InstallPage
      installId={installId}
      title="Activity"
      description="Requests to this extension and what it logged, newest first."
      actions={() => <LiveControl live={live} onToggle={() => setLive((on) => !on)} />}
    >
      {(install) => (
        <Tabs
          label="Activity"
          tabs={[{ id: 'executions', label: 'Executions' }, { id: 'logs', label: 'Logs' }]}
          active={tab}
          onChange={(id) => setSearchParam('tab', id === 'executions' ? null : id)}
        >
          {tab === 'executions'
            ? <ExecutionsPanel install={install} live={live} limit={limit} onShowLogs={showLogsOf} />
            : <LogsPanel install={install} live={live} limit={limit} onShowLogs={showLogsOf} />}
        </Tabs>
      )}
    </InstallPage>
  );
}

function LiveControl({ live, onToggle }: { live: boolean; onToggle: () => void }) {
  return (
    <div className="live-control">
      <span className={live ? 'live-indicator is-live' : 'live-indicator'} title={live ? 'New activity appears as it happens while this tab is open' : 'New activity is not loaded until you resume'}>
        {live ? 'Live' : 'Paused'}
      </span>
      <Button size="sm" onClick={onToggle}>
        {live ? 'Pause' : 'Resume'}<span className="visually-hidden"> live updates</span>
      </Button>
    </div>
  );
}
