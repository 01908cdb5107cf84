/**
 * HTTP client for the runner's `/v1/execute` (undici keep-alive pool), over https when
 * RUNNER_URL is https: trusting a private CA, presenting a client certificate for mTLS.
 */
import { readFileSync } from 'node:fs';
import { Pool, errors as undiciErrors } from 'undici';
import { AlgaError, isErrorCode } from '@alga-psa/extension-contracts';
import type { ExecuteBody, ExecuteSuccess } from '@alga-psa/extension-contracts';

/**
 * `notStarted`: the request provably never ran on this runner (the connection was refused, or
 * the runner answered 503 E_OVERLOADED before dispatching it), so another runner may take it.
 */
export type RunnerAnswer = { ok: true; result: ExecuteSuccess } | { ok: false; error: AlgaError; notStarted?: boolean };

/** A refused connect: nothing of the request reached a process. */
function refused(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return e?.code === 'ECONNREFUSED' || e?.cause?.code === 'ECONNREFUSED';
}

/** PEM file paths (gateway config `runnerTls`). */
export interface RunnerTlsFiles {
  /** CA that signed the runner's certificate (else the system's trust store). */
  caFile?: string;
  /** Client certificate and key, for a runner with RUNNER_TLS_CLIENT_CA_FILE. */
  certFile?: string;
  keyFile?: string;
}

export class RunnerClient {
  private readonly pool: Pool;

  constructor(runnerUrl: string, tls: RunnerTlsFiles = {}) {
    const wantsTls = Boolean(tls.caFile || tls.certFile || tls.keyFile);
    // TLS files with an http URL would silently send tokens and secret envelopes in clear.
    if (wantsTls && new URL(runnerUrl).protocol !== 'https:') throw new Error(`invalid gateway configuration: ALGA_RUNNER_TLS_* files are set but RUNNER_URL ${runnerUrl} is not https`);
    if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) throw new Error('invalid gateway configuration: ALGA_RUNNER_TLS_CERT_FILE and ALGA_RUNNER_TLS_KEY_FILE must be set together');
    const read = (variable: string, path: string | undefined) => {
      if (!path) return undefined;
      try {
        return readFileSync(path);
      } catch (err) {
        throw new Error(`invalid gateway configuration: cannot read ${variable} ${path}: ${(err as Error).message}`);
      }
    };
    const connect = wantsTls ? { ca: read('ALGA_RUNNER_TLS_CA_FILE', tls.caFile), cert: read('ALGA_RUNNER_TLS_CERT_FILE', tls.certFile), key: read('ALGA_RUNNER_TLS_KEY_FILE', tls.keyFile) } : undefined;
    this.pool = new Pool(runnerUrl, { connections: 64, keepAliveTimeout: 30_000, ...(connect ? { connect } : {}) });
  }

  /** `body`: the execute body, or its JSON text as the proxy builds it once (`executeBodyJson`). */
  async execute(token: string, body: ExecuteBody | string, timeoutMs: number, extraHeaders: Record<string, string>): Promise<RunnerAnswer> {
    let res;
    const timedOut = (err: unknown) => err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || (err as Error | undefined)?.name === 'TimeoutError';
    try {
      // Exactly one attempt per token (the runner runs each once): no retry interceptor, and
      // undici neither pipelines a POST nor re-sends one already written when its socket fails.
      res = await this.pool.request({
        path: '/v1/execute', method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...extraHeaders },
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        // The two timeouts start once the request is written; this one also covers a connect
        // that hangs (undici's own connect timeout is 10 s, longer than most deadlines).
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (timedOut(err)) {
        return { ok: false, error: new AlgaError('E_DEADLINE', 'the runner did not answer before the request deadline') };
      }
      return { ok: false, error: new AlgaError('E_RUNNER_UNAVAILABLE', 'the extension runner is unreachable; retry shortly'), ...(refused(err) ? { notStarted: true } : {}) };
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      // The answer stopped coming after its headers.
      if (timedOut(err)) return { ok: false, error: new AlgaError('E_DEADLINE', 'the runner did not finish its answer before the request deadline') };
      return { ok: false, error: new AlgaError('E_RUNNER_UNAVAILABLE', 'the connection to the extension runner was lost; retry shortly') };
    }
    let parsed: unknown;
    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
    if (res.statusCode === 200 && parsed && typeof parsed === 'object') return { ok: true, result: parsed as ExecuteSuccess };
    const code = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error?.code;
    const message = (parsed as { error?: { message?: unknown } } | undefined)?.error?.message;
    if (code === 'E_AUTH') {
      // The gateway's own token was refused: a deployment problem, not the caller's.
      // Its reason tells a key mismatch ("invalid") from a binding or replay refusal; it never carries secrets.
      const reason = typeof message === 'string' ? message.slice(0, 200) : 'no reason given';
      return { ok: false, error: new AlgaError('E_RUNNER_UNAVAILABLE', `the runner refused the gateway's execution token (${reason}); if the token is "invalid", check that RUNNER_TRUSTED_KEYS has the gateway keys`) };
    }
    // The runner's admission control answers before it dispatches anything.
    if (code === 'E_OVERLOADED') return { ok: false, error: new AlgaError(code, typeof message === 'string' ? message : undefined), notStarted: true };
    if (isErrorCode(code)) return { ok: false, error: new AlgaError(code, typeof message === 'string' ? message : undefined) };
    return { ok: false, error: new AlgaError('E_RUNNER_UNAVAILABLE', `the runner answered ${res.statusCode}`) };
  }

  /**
   * `POST /v1/prepare`: have the runner compile a component and make instances ready. Best effort:
   * a runner that is down or slow prepares on first need instead, so this answers what happened
   * and never throws.
   */
  async prepare(token: string, contentHash: string, timeoutMs: number): Promise<{ ok: true; result: unknown } | { ok: false; reason: string }> {
    try {
      const res = await this.pool.request({
        path: '/v1/prepare', method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ contentHash }),
        headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      let parsed: unknown;
      try { parsed = JSON.parse(text); } catch { parsed = undefined; }
      if (res.statusCode === 200) return { ok: true, result: parsed };
      const code = (parsed as { error?: { code?: unknown } } | undefined)?.error?.code;
      return { ok: false, reason: `the runner answered ${res.statusCode}${typeof code === 'string' ? ` ${code}` : ''}` };
    } catch (err) {
      return { ok: false, reason: `the runner did not answer (${(err as Error).name})` };
    }
  }

  /** `GET /readyz` within `timeoutMs`: true for a 200. */
  async ready(timeoutMs: number): Promise<boolean> {
    try {
      const res = await this.pool.request({ path: '/readyz', method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
