/**
 * Install changes between gateway replicas, through PostgreSQL LISTEN/NOTIFY: a settings,
 * secrets, grant or status write (and an operator's capability switch) on one replica drops the
 * cached install config on every other one at once, instead of after the cache TTL. On PGlite
 * there is one process, so there is nobody to tell: the feed is off.
 *
 * The channel is per schema (tests give every gateway harness its own), the payload
 * `{"t":tenantId,"i":installId|null}` (null: every install of the tenant; t null: every tenant).
 * NOTIFY is sent in its own statement after the write committed; the LISTEN connection is one
 * `pg` client of its own, reconnected with a backoff (retried until it connects) when it drops.
 * Notifications sent while it was down are lost, so a reconnect drops every cached config.
 *
 * @example
 *   const feed = await startChangeFeed(db, { onChange: (tenantId, installId) => cache.invalidate(…) , logger });
 *   await feed.publish(tenantId, installId);
 */
import pg from 'pg';
import type { Knex } from 'knex';
import type { Database } from '../db/database.ts';

export interface ChangeFeed {
  publish(tenantId: string | null, installId: string | null): void;
  close(): Promise<void>;
}

interface Logger { warn(obj: object, msg: string): void }

const noFeed: ChangeFeed = { publish: () => {}, close: async () => {} };

function channelFor(schema: string | undefined): string {
  return schema ? `alga_install_changed_${schema}` : 'alga_install_changed';
}

export async function startChangeFeed(db: Database, deps: { onChange(tenantId: string | null, installId: string | null): void; logger: Logger }): Promise<ChangeFeed> {
  if (!db.listen) return noFeed;
  const channel = channelFor(db.listen.schema);
  const knex: Knex = db.knex;
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = 250;
  let retrying: NodeJS.Timeout | undefined;
  const retry = () => {
    if (closed || retrying) return;
    retrying = setTimeout(() => {
      retrying = undefined;
      connect().then(() => deps.onChange(null, null), retry);
    }, retryMs);
    retrying.unref();
    retryMs = Math.min(retryMs * 2, 10_000);
  };
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: db.listen!.url });
    c.on('notification', (msg) => {
      if (msg.channel !== channel || !msg.payload) return;
      try {
        const { t, i } = JSON.parse(msg.payload) as { t: string | null; i: string | null };
        deps.onChange(t, i);
      } catch { /* not ours */ }
    });
    c.on('error', () => undefined);
    c.on('end', () => {
      if (closed) return;
      deps.logger.warn({ channel }, 'install change feed lost its connection; reconnecting (this replica falls back to the cache TTL meanwhile)');
      retry();
    });
    try {
      await c.connect();
      await c.query(`LISTEN "${channel}"`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    client = c;
    retryMs = 250;
  };
  try {
    await connect();
  } catch (err) {
    // Start-up fails (the database is unreachable): nothing may keep retrying behind it.
    closed = true;
    if (retrying) clearTimeout(retrying);
    throw err;
  }
  return {
    publish(tenantId, installId) {
      void knex.raw('select pg_notify(?, ?)', [channel, JSON.stringify({ t: tenantId, i: installId })])
        .catch((err: unknown) => deps.logger.warn({ err: (err as Error).message }, 'install change not announced to other replicas (they catch up within the cache TTL)'));
    },
    async close() {
      closed = true;
      if (retrying) clearTimeout(retrying);
      await client?.end().catch(() => undefined);
    },
  };
}
