/**
 * knex over embedded PGlite (PostgreSQL compiled to WASM, no native build), configured so callers
 * see the same JS values and result shapes as knex over `pg` against a real PostgreSQL. The
 * gateway's control-plane database and the local storage of `alga component dev` / the test host
 * both open PGlite through here, so storage code behaves identically on all of them.
 *
 * Value types (PGlite's own defaults differ: numeric string, bytea Uint8Array):
 *   int8 / bigint -> number (outside ±2^53-1 throws instead of losing precision)
 *   numeric       -> number
 *   bytea         -> Buffer
 *
 * @example
 *   const { knex, close } = await openPgliteKnex({ dataDir: './data/db' }); // or 'memory'
 *   await knex('t').where({ id }).del();   // 1 (the affected row count, as with `pg`)
 *   await close();                          // destroys knex, then closes PGlite
 */
import { mkdir } from 'node:fs/promises';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { PGlite } from '@electric-sql/pglite';

export interface PgliteKnexOptions {
  /** A directory (created if missing) whose data outlives the process, or 'memory' (also for ''). */
  dataDir: string | 'memory';
  /** Where knex's warnings go; knex's default (console) when absent. */
  log?: Knex.Config['log'];
  /** knex `searchPath` (schemas to resolve unqualified names in); the caller creates them. */
  searchPath?: string[];
}

export interface PgliteKnex {
  knex: Knex;
  /** Idempotent: later calls return the first call's promise. */
  close(): Promise<void>;
}

/** PostgreSQL type OIDs. */
const OID = { INT8: 20, NUMERIC: 1700, BYTEA: 17 } as const;

/** int8 text -> number; throws rather than silently rounding a value beyond 2^53. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} does not fit a JS number exactly`);
  return n;
}

export function parseNumeric(text: string): number {
  return Number(text);
}

/** bytea text output: hex format (`\x0a0b`, the default) or the legacy escape format. */
export function parseBytea(text: string): Buffer {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex');
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') { out.push(text.charCodeAt(i)); continue; }
    if (text[i + 1] === '\\') { out.push(0x5c); i += 1; continue; }
    out.push(parseInt(text.slice(i + 1, i + 4), 8));
    i += 3;
  }
  return Buffer.from(out);
}

/** PGlite's parser overrides (its defaults: int8 number, numeric string, bytea Uint8Array). */
const pgliteParsers = {
  [OID.INT8]: parseInt8,
  [OID.NUMERIC]: parseNumeric,
  [OID.BYTEA]: parseBytea,
};

/** knex's result shaping keys on the SQL command tag, which knex-pglite derives from the knex method
 * name: a delete became `DEL` and came back as the raw result instead of the affected row count
 * that `pg` gives. Tag deletes (and everything else) the way PostgreSQL does. */
const commandOfMethod: Record<string, string> = { first: 'SELECT', pluck: 'SELECT', select: 'SELECT', del: 'DELETE', update: 'UPDATE', insert: 'INSERT' };
type ProcessResponse = (this: unknown, obj: unknown, runner: unknown) => unknown;
const PgLiteBase = ClientPgLite as unknown as new (config: Knex.Config) => object;
/** knex's own PostgreSQL client, the class knex-pglite extends. */
const pgProcessResponse = (Object.getPrototypeOf(PgLiteBase.prototype) as { processResponse: ProcessResponse }).processResponse;
class ClientPgLiteFixed extends PgLiteBase {
  processResponse(obj: unknown, runner: unknown): unknown {
    const query = obj as { method?: string; response?: { affectedRows?: number } };
    const command = (query.method && commandOfMethod[query.method]) ?? query.method?.toUpperCase() ?? '';
    const response = { ...query.response, rowCount: query.response?.affectedRows, command };
    return pgProcessResponse.call(this, { ...query, response }, runner);
  }
}

export async function openPgliteKnex(opts: PgliteKnexOptions): Promise<PgliteKnex> {
  // '' counts as memory, as the gateway's openDatabase has always treated it.
  const dataDir = opts.dataDir && opts.dataDir !== 'memory' ? opts.dataDir : undefined;
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const pglite = new PGlite({ dataDir, parsers: pgliteParsers });
  const knex = knexFactory({
    client: ClientPgLiteFixed as unknown as typeof ClientPgLite,
    dialect: 'postgres',
    // knex-pglite accepts its instance through a connection function.
    connection: (() => ({ pglite })) as unknown as Knex.StaticConnectionConfig,
    searchPath: opts.searchPath,
    ...(opts.log ? { log: opts.log } : {}),
  });
  let closed: Promise<void> | undefined;
  return {
    knex,
    close: () => (closed ??= (async () => {
      await knex.destroy();
      // knex only closes PGlite if it ever handed out the connection.
      if (!pglite.closed) await pglite.close();
    })()),
  };
}
