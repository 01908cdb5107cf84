/** HTTP client for the runner's `/v1/execute` (undici keep-alive pool). */
import { Pool, errors as undiciErrors } from 'undici';
import { AlgaError, isErrorCode } from '@alga-psa/extension-contracts';
import type { ExecuteBody, ExecuteSuccess } from '@alga-psa/runner';

export type RunnerAnswer = { ok: true; result: ExecuteSuccess } | { ok: false; error: AlgaError };

export class RunnerClient {
  private readonly pool: Pool;

  constructor(runnerUrl: string) {
    this.pool = new Pool(runnerUrl, { connections: 64, keepAliveTimeout: 30_000 });
  }

  async execute(token: string, body: ExecuteBody, timeoutMs: number, extraHeaders: Record<string, string>): Promise<RunnerAnswer> {
    let res;
    try {
      res = await this.pool.request({
        path: '/v1/execute', method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...extraHeaders },
        body: JSON.stringify(body),
        headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
      });
    } catch (err) {
      if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
        return { ok: false, error: new AlgaError('E_DEADLINE', 'the runner did not answer before the request deadline') };
      }
      return { ok: false, error: new AlgaError('E_RUNNER_UNAVAILABLE', 'the extension runner is unreachable; retry shortly') };
    }
    const text = await res.body.text();
    let parsed: unknown;
    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
    if (res.statusCode === 200 && parsed && typeof parsed === 'object') return { ok: true, result: parsed as ExecuteSuccess };
    const code = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error?.code;
    const message = (parsed as { error?: { message?: unknown } } | undefined)?.error?.message;
    if (code === 'E_AUTH') {
      // The gateway's own token was refused: a deployment problem, not the caller's.
      return { ok: false, error: new AlgaError('E_RUNNER_UNAVAILABLE', 'the runner refused the gateway execution token; check that RUNNER_TRUSTED_KEYS has the gateway keys') };
    }
    if (isErrorCode(code)) return { ok: false, error: new AlgaError(code, typeof message === 'string' ? message : undefined) };
    return { ok: false, error: new AlgaError('E_RUNNER_UNAVAILABLE', `the runner answered ${res.statusCode}`) };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
