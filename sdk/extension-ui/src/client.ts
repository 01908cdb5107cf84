/**
 * The iframe SDK: what an extension's UI calls. The UI runs sandboxed in an opaque origin with no
 * credential and no network (`connect-src 'none'`); these calls ask the platform page to make the
 * proxy request for it, over the bridge in `client-connection.ts`. Importing this module starts
 * listening for the host's handshake, so import it early.
 *
 * @example
 *   import { callProxyJson, onReady, resize, navigate, ExtensionUiError } from '@alga-psa/extension-ui/client';
 *   onReady(async () => {
 *     const { greeting } = await callProxyJson<{ greeting: string }>('/hello');
 *     document.querySelector('#out')!.textContent = greeting;
 *     await resize();                       // fit the iframe to the document
 *   });
 *   await callProxyJson('/notes', { text: 'hi' });           // POST with a JSON body
 *   await callProxyJson('/notes/1', undefined, { method: 'DELETE', timeoutMs: 5000 });
 *   await navigate('/tickets/42');          // asks the admin UI to go there
 */
import { BridgeClient, type ReadyInfo } from './client-connection.ts';
import { ExtensionUiError } from './errors.ts';
import type { ProxyMethod } from './protocol.ts';

export { BridgeClient, type BridgeClientOptions, type ReadyInfo } from './client-connection.ts';
export { ExtensionUiError, bridgeErrorCodes, type BridgeErrorCode } from './errors.ts';
export type { ProxyMethod } from './protocol.ts';

export const defaultTimeoutMs = 15_000;
const uiCallTimeoutMs = 5_000;

let shared: BridgeClient | undefined;
function bridge(): BridgeClient {
  shared ??= new BridgeClient();
  return shared;
}
// Listen from the moment the SDK loads: the host's init can arrive before the UI's first call.
if (typeof window !== 'undefined') bridge();

export interface CallOptions {
  /** Default: GET without a body, POST with one. */
  method?: ProxyMethod;
  /** Default 15 s; the host also gives up on its fetch at this time. */
  timeoutMs?: number;
}

export interface RawCallOptions extends CallOptions {
  /** Text only: the bridge carries strings (JSON, form data, CSV), not bytes. */
  body?: string;
  /** Default `text/plain;charset=utf-8` when there is a body. */
  contentType?: string;
}

export interface ProxyResponse {
  status: number;
  /** Only `content-type` ever crosses the bridge. */
  headers: { 'content-type'?: string };
  body: string;
}

/** Calls the extension's endpoint `route` and resolves with whatever it answered, any status. */
export async function callProxy(route: string, options: RawCallOptions = {}): Promise<ProxyResponse> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const result = await bridge().request({
    op: 'proxy', route, method,
    ...(options.body !== undefined ? { body: options.body, contentType: options.contentType ?? 'text/plain;charset=utf-8' } : {}),
  }, options.timeoutMs ?? defaultTimeoutMs);
  return result!;
}

/**
 * Calls `route` with `body` as JSON and resolves with the parsed 2xx answer (`undefined` when it
 * is empty). A non-2xx answer rejects with the gateway's or extension's `{ error: { code, message } }`
 * as an ExtensionUiError (with `status`), or `E_HTTP` when the body is not that shape.
 */
export async function callProxyJson<T = unknown>(route: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  const response = await callProxy(route, {
    ...options,
    ...(body !== undefined ? { body: JSON.stringify(body), contentType: 'application/json' } : {}),
  });
  if (response.status < 200 || response.status > 299) throw errorFromResponse(response);
  if (response.body === '') return undefined as T;
  try {
    return JSON.parse(response.body) as T;
  } catch {
    throw new ExtensionUiError('E_BAD_RESPONSE', `${route} answered ${response.status} with a body that is not JSON`, { status: response.status });
  }
}

/** Runs `cb` once the host page has connected the bridge; returns an unsubscribe. */
export function onReady(cb: (info: ReadyInfo) => void): () => void {
  return bridge().onReady(cb);
}

/**
 * Asks the host to set the iframe's height; without an argument, the document's height (the root
 * element's box, so keep `html` at its automatic height for this to shrink as well as grow).
 */
export async function resize(height?: number): Promise<void> {
  const value = height ?? Math.ceil(document.documentElement.getBoundingClientRect().height);
  await bridge().request({ op: 'resize', height: value }, uiCallTimeoutMs);
}

/** Asks the admin UI to navigate to `path` (a relative platform path); the host page decides. */
export async function navigate(path: string): Promise<void> {
  await bridge().request({ op: 'navigate', path }, uiCallTimeoutMs);
}

function errorFromResponse(response: ProxyResponse): ExtensionUiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch { /* not JSON: E_HTTP below */ }
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.code === 'string' && error.code.length <= 100 && typeof error.message === 'string') {
    return new ExtensionUiError(error.code, error.message, { status: response.status, details: error.details });
  }
  return new ExtensionUiError('E_HTTP', `the extension answered ${response.status}`, { status: response.status, details: response.body.slice(0, 1000) });
}
export { createApi, type TypedApi, type ApiCallInput } from './typed-api.ts';
