/**
 * The production backend transport of the providers whose state the gateway keeps (storage,
 * ui-proxy): one `POST {gatewayUrl}/api/internal/<path>/install/<installId>` with a JSON body and
 * the request's execution token (the gateway checks its install and capabilities), over a
 * keep-alive undici Pool per gateway origin, bounded by the time left to the request deadline
 * minus a small margin (so the guest can still answer after a slow gateway).
 *
 * It only transports: the answer's status and parsed JSON body go back to the caller, which maps
 * them to its WIT variant. Anything that prevents an answer (no gateway configured, deadline,
 * connection error, an answer over the cap) is a `GatewayCallbackFailure` whose message is safe
 * to hand to the guest (it never holds the token or the payload).
 *
 * @example
 *   try {
 *     const { status, body } = await gatewayCallback(scope, 'ext-storage', { op: 'get', namespace: 'cache', key: 'k' }, { maxAnswerBytes: 1 << 20 });
 *   } catch (e) {
 *     if (e instanceof GatewayCallbackFailure) throw witError('unavailable', e.message);
 *   }
 */
import { Pool, request } from 'undici';
import { readBodyCapped, type DestroyableBody } from '@alga-psa/extension-contracts';
import type { RequestScope } from './provider.ts';

/** Time kept back from the request deadline for the guest to answer. */
export const GATEWAY_CALLBACK_MARGIN_MS = 20;

export interface GatewayCallbackAnswer {
  status: number;
  /** The parsed JSON answer; undefined when empty or not JSON. */
  body: unknown;
}

export type GatewayCallbackFailureKind = 'not-configured' | 'deadline' | 'too-large' | 'unreachable';

/** No answer from the gateway; `message` may be shown to the guest. */
export class GatewayCallbackFailure extends Error {
  readonly kind: GatewayCallbackFailureKind;

  constructor(kind: GatewayCallbackFailureKind, message: string) {
    super(message);
    this.name = 'GatewayCallbackFailure';
    this.kind = kind;
  }
}

const pools = new Map<string, Pool>();

function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections: 32, keepAliveTimeout: 10_000 });
    pools.set(origin, pool);
  }
  return pool;
}

/** Closes the keep-alive pools (tests, shutdown). */
export async function closeGatewayCallbackPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close().catch(() => undefined)));
}

function endpoint(gatewayUrl: string | undefined, path: string, installId: string): URL {
  if (!gatewayUrl) throw new GatewayCallbackFailure('not-configured', 'no gateway is configured on this runner');
  let url: URL;
  try {
    url = new URL(gatewayUrl);
  } catch {
    throw new GatewayCallbackFailure('not-configured', 'the configured gateway URL is invalid');
  }
  // The base URL's own path is kept: a gateway may be mounted below a prefix.
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/internal/${path}/install/${encodeURIComponent(installId)}`;
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * One callback. `path` is the internal API's segment (`ext-storage`, `ext-ui-proxy`);
 * `maxAnswerBytes` caps the answer read (the connection is dropped past it).
 */
export async function gatewayCallback(
  scope: Pick<RequestScope, 'operator' | 'installId' | 'deadlineMs' | 'executionToken'>,
  path: string,
  payload: unknown,
  options: { maxAnswerBytes: number },
): Promise<GatewayCallbackAnswer> {
  const url = endpoint(scope.operator.gatewayUrl, path, scope.installId);
  const timeoutMs = Math.floor(scope.deadlineMs - Date.now() - GATEWAY_CALLBACK_MARGIN_MS);
  if (timeoutMs <= 0) throw new GatewayCallbackFailure('deadline', 'the request deadline has passed');
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Awaited<ReturnType<typeof request>> | undefined;
  // A body that stalls after the headers is cut off at the deadline too.
  const onAbort = () => res?.body.destroy(new Error('deadline'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    res = await request(url, {
      dispatcher: poolFor(url.origin),
      method: 'POST',
      headers: { authorization: `Bearer ${scope.executionToken}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload),
      signal,
      // The AbortSignal is the real timer; these only back it up.
      headersTimeout: timeoutMs + 1000,
      bodyTimeout: timeoutMs + 1000,
    });
    // Destroying an undici body emits 'error': never let that be unhandled (it would crash the worker).
    res.body.on('error', () => {});
    const bytes = await readBodyCapped(res.body as unknown as DestroyableBody, options.maxAnswerBytes, res.headers['content-length']);
    if (!bytes) throw new GatewayCallbackFailure('too-large', 'the gateway answer is too large');
    const text = bytes.toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, body };
  } catch (e) {
    if (e instanceof GatewayCallbackFailure) throw e;
    if (signal.aborted) throw new GatewayCallbackFailure('deadline', 'the gateway did not answer before the request deadline');
    const code = (e as { code?: unknown })?.code;
    throw new GatewayCallbackFailure('unreachable', `the gateway is unreachable${typeof code === 'string' ? ` (${code})` : ''}`);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The gateway's `{ error: { message } }`, bounded and on one line (the gateway never echoes the token). */
export function gatewayErrorMessage(body: unknown, fallback: string): string {
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return (typeof message === 'string' && message !== '' ? message : fallback).replace(/\s+/g, ' ').slice(0, 300);
}

/** The gateway's `{ error: { code } }`, if any. */
export function gatewayErrorCode(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}
