/**
 * The one error type of the iframe SDK, on both sides of the bridge: the host answers a refused
 * message with `{ code, message }` and the client rethrows it as this class, so extension code
 * handles host refusals, timeouts and the gateway's own `{ error: { code, message } }` alike.
 *
 * @example
 *   try {
 *     await callProxyJson('/tickets');
 *   } catch (err) {
 *     if (err instanceof ExtensionUiError && err.code === 'E_TIMEOUT') showRetry();
 *     else if (err instanceof ExtensionUiError && err.status === 404) showEmpty();
 *   }
 */

/** Codes the SDK itself produces; a proxied gateway or extension error keeps its own code. */
export const bridgeErrorCodes = [
  /** No answer within the call's timeout (client), or the host aborted the proxy call at it. */
  'E_TIMEOUT',
  /** No host bridge: the page is not framed, no handshake happened in time, or the host closed the channel. */
  'E_NOT_CONNECTED',
  /** The host received something that is not a protocol message. */
  'E_BAD_MESSAGE',
  /** The route or navigation path is not a plain relative path (`..`, `//`, a scheme, `\`, encoded separators…). */
  'E_ROUTE_INVALID',
  /** The route is well-formed but not one the host page allows this frame to call. */
  'E_ROUTE_NOT_ALLOWED',
  /** The request body is larger than the host accepts. */
  'E_BODY_TOO_LARGE',
  /** The response body is larger than the host passes back. */
  'E_RESPONSE_TOO_LARGE',
  /** Too many calls in flight from this frame. */
  'E_BUSY',
  /** The host page does not handle this operation (e.g. `navigate` without `onNavigate`). */
  'E_UNSUPPORTED',
  /** The host page's own handler (`onNavigate`, `onResize`) threw. */
  'E_HOST_FAILED',
  /** The host's fetch failed before an HTTP answer (offline, redirect refused, aborted). */
  'E_NETWORK',
  /** `callProxyJson`: a non-2xx answer without the gateway's `{ error: { code, message } }` body. */
  'E_HTTP',
  /** `callProxyJson`: a 2xx answer whose body is not JSON. */
  'E_BAD_RESPONSE',
] as const;

export type BridgeErrorCode = (typeof bridgeErrorCodes)[number];

export class ExtensionUiError extends Error {
  /** A bridge code, or the code from the gateway's / extension's error body (e.g. `E_ENDPOINT_NOT_DECLARED`). */
  readonly code: BridgeErrorCode | (string & {});
  /** The HTTP status, when the error is a proxied answer. */
  readonly status?: number;
  readonly details?: unknown;

  constructor(code: BridgeErrorCode | (string & {}), message: string, extra: { status?: number; details?: unknown } = {}) {
    super(message);
    this.name = 'ExtensionUiError';
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.details !== undefined) this.details = extra.details;
  }
}
