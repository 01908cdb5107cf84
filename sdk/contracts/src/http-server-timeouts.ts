/**
 * Request timeouts for the gateway's and the runner's HTTP(S) servers, so a client that sends
 * its headers or its body slowly holds a connection for a bounded time (Node's own defaults:
 * 60 s for headers, 300 s for the whole request, checked only every 30 s).
 *
 * @example
 *   const server = createServer(httpServerTimeoutOptions({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 }), app);
 */

export interface HttpServerTimeouts {
  /** From the first byte of a request to the end of its headers. */
  headersTimeoutMs: number;
  /** From the first byte of a request to the end of its body (the response is not bounded by it). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open after a response. */
  keepAliveTimeoutMs: number;
}

/** The options `http.createServer` / `https.createServer` take for these timeouts. */
export function httpServerTimeoutOptions(t: HttpServerTimeouts) {
  return {
    headersTimeout: t.headersTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    // Node only enforces the two request timeouts when this timer fires (default every 30 s), so
    // a timeout can overshoot by one interval. A tenth of the shorter timeout (10 ms – 1 s) keeps
    // the overshoot at 10 %, for one walk over the open connections per tick.
    connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(Math.min(t.headersTimeoutMs, t.requestTimeoutMs) / 10))),
  };
}

/** Cross-field rule Node enforces by throwing at server creation; reported at start-up instead, naming the variables. */
export function httpServerTimeoutProblems(t: HttpServerTimeouts, prefix: string): string[] {
  return t.headersTimeoutMs > t.requestTimeoutMs
    ? [`${prefix}_HEADERS_TIMEOUT_MS (${t.headersTimeoutMs}) must not exceed ${prefix}_REQUEST_TIMEOUT_MS (${t.requestTimeoutMs}): the request timeout includes the headers`]
    : [];
}
