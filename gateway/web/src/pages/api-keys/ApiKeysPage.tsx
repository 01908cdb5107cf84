/**
 * `/admin/api-keys` (extension:admin): the tenant's API keys — for API clients and for signing in
 * here. Create one with a role and an expiry (the key is shown once, in the dialog), see each
 * key's role, dates and status (active / expired / revoked), and revoke one. Keys are stored
 * hashed: only the prefix is ever shown again. (The gateway records no "last used" time yet.)
 * Anyone below admin gets the "You don't have access" state; the gateway refuses them anyway.
 */
import { useState } from 'react';
import { api, ApiError } from '../../api/client.ts';
import { roleLabel, useMe, useSession } from '../../api/session.tsx';
import { useApi } from '../../api/use-api.ts';
import type { ApiKey } from '../../api/types.ts';
import { Badge, type BadgeTone } from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { EmptyState } from '../../components/EmptyState.tsx';
import { describeError, ErrorState } from '../../components/ErrorState.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Page } from '../../components/Page.tsx';
import { DataTable, formatDate, relativeTime } from '../../components/Table.tsx';
import { useNotify } from '../../components/Toast.tsx';
import { CreateKeyDialog } from './CreateKeyDialog.tsx';
import './api-keys.css';

type KeyStatus = 'active' | 'expired' | 'revoked';

function statusOf(key: ApiKey, now = Date.now()): KeyStatus {
  if (key.revokedAt) return 'revoked';
  if (new Date(key.expiresAt).getTime() <= now) return 'expired';
  return 'active';
}

const statusView: Record<KeyStatus, { label: string; tone: BadgeTone }> = {
  active: { label: 'Active', tone: 'success' },
  expired: { label: 'Expired', tone: 'neutral' },
  revoked: { label: 'Revoked', tone: 'danger' },
};

const title = 'API keys';
const description = 'Keys for API clients and for signing in to this console. A key is shown once, when it is created.';

export function ApiKeysPage() {
  const { hasRole } = useSession();
  const [creating, setCreating] = useState(false);
  if (!hasRole('extension:admin')) {
    return <Page title={title} description={description}><ErrorState error={new ApiError(403, 'E_FORBIDDEN', 'API keys need the extension:admin role')} /></Page>;
  }
  return (
    <Page title={title} description={description} actions={<Button variant="primary" onClick={() => setCreating(true)}>Create API key</Button>}>
      <KeyList creating={creating} onCreateOpen={() => setCreating(true)} onCreateClose={() => setCreating(false)} />
    </Page>
  );
}

function KeyList({ creating, onCreateOpen, onCreateClose }: { creating: boolean; onCreateOpen: () => void; onCreateClose: () => void }) {
  const me = useMe();
  const notify = useNotify();
  const keys = useApi<{ apiKeys: ApiKey[] }>('/api/v1/api-keys');
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [revokeBusy, setRevokeBusy] = useState(false);
  const [revokeError, setRevokeError] = useState<string | null>(null);

  const revoke = async () => {
    if (!revoking) return;
    setRevokeBusy(true);
    setRevokeError(null);
    try {
      await api.del(`/api/v1/api-keys/${encodeURIComponent(revoking.id)}`);
      notify({ tone: 'success', message: `Key “${revoking.name}” revoked` });
      setRevoking(null);
      keys.reload();
    } catch (err) {
      setRevokeError(`The key was not revoked: ${describeError(err).body}`);
    } finally {
      setRevokeBusy(false);
    }
  };

  const dialogs = (
    <>
      <CreateKeyDialog open={creating} onClose={onCreateClose} onCreated={() => keys.reload()} />
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke “${revoking?.name ?? ''}”?`}
        confirmLabel="Revoke key"
        danger
        busy={revokeBusy}
        error={revokeError}
        onConfirm={() => void revoke()}
        onCancel={() => { setRevoking(null); setRevokeError(null); }}
      >
        {revoking?.id === me.apiKeyId
          ? 'You are signed in with this key: revoking it ends this session and you will have to sign in with another key. Anything else using it stops working at once. This cannot be undone.'
          : 'Anything using this key stops working at once: API calls with it are refused and console sessions signed in with it end. This cannot be undone.'}
      </ConfirmDialog>
    </>
  );

  if (keys.error) return <>{dialogs}<ErrorState error={keys.error} onRetry={keys.reload} /></>;
  if (!keys.data) return <>{dialogs}<Loading label="Loading API keys" /></>;
  const all = [...keys.data.apiKeys].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  if (all.length === 0) {
    return <>{dialogs}<EmptyState title="No API keys" action={<Button variant="primary" onClick={onCreateOpen}>Create API key</Button>}>Create one for an API client.</EmptyState></>;
  }
  const counts = { active: 0, expired: 0, revoked: 0 };
  for (const k of all) counts[statusOf(k)] += 1;
  const summary = [`${counts.active} active`, counts.expired ? `${counts.expired} expired` : '', counts.revoked ? `${counts.revoked} revoked` : ''].filter(Boolean).join(' · ');

  return (
    <>
      {dialogs}
      <section className="card" aria-labelledby="api-keys-heading">
        <div className="card-header">
          <h2 id="api-keys-heading">Keys</h2>
          <span className="card-meta">{summary}</span>
        </div>
        <DataTable
          caption="API keys"
          rows={all}
          rowKey={(k) => k.id}
          columns={[
            { header: 'Name', render: (k) => (
              <div className="cell-title">
                <span className="cell-primary"><span id={`key-name-${k.id}`}>{k.name || 'Unnamed'}</span>{k.id === me.apiKeyId && <> <Badge tone="info">this session</Badge></>}</span>
                <span className="cell-secondary mono">alga_{k.prefix}_…</span>
              </div>
            ) },
            { header: 'Role', render: (k) => <span title={k.roles.join(', ')}>{roleLabel(k.roles)}</span> },
            { header: 'Created', className: 'hide-narrow', render: (k) => <time dateTime={k.createdAt}>{formatDate(k.createdAt)}</time> },
            { header: 'Expires', render: (k) => (
              <span className="key-expiry">
                <time dateTime={k.expiresAt}>{formatDate(k.expiresAt)}</time>
                {statusOf(k) === 'active' && <span className="cell-secondary">{relativeTime(k.expiresAt)}</span>}
              </span>
            ) },
            { header: 'Status', render: (k) => {
              const s = statusView[statusOf(k)];
              return <Badge tone={s.tone} title={k.revokedAt ? `Revoked ${formatDate(k.revokedAt)}` : undefined}>{s.label}</Badge>;
            } },
            { header: <span className="visually-hidden">Actions</span>, className: 'cell-actions', render: (k) => (
              statusOf(k) === 'active'
                // Named "Revoke <key name>" from the name cell (no second copy of the name in the row).
                ? <Button id={`key-revoke-${k.id}`} aria-labelledby={`key-revoke-${k.id} key-name-${k.id}`} size="sm" onClick={() => { setRevokeError(null); setRevoking(k); }}>Revoke</Button>
                : null
            ) },
          ]}
        />
      </section>
    </>
  );
}
