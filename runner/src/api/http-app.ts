/**
 * The runner's HTTP surface other than `POST /v1/execute` (execute-route.ts, on node:http in
 * front of this app): health, readiness, metrics, and the 404 for everything else.
 */
import express, { type ErrorRequestHandler } from 'express';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { RunnerMetrics } from '../metrics.ts';
import type { WorkerPool } from '../pool/worker-pool.ts';

export interface RunnerAppDeps {
  metrics: RunnerMetrics;
  pool: WorkerPool;
  isReady(): boolean;
}

export function createRunnerApp(deps: RunnerAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', (_req, res) => {
    const ready = deps.isReady() && deps.pool.size > 0;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'starting', workers: deps.pool.size, busy: deps.pool.busy, queued: deps.pool.queued });
  });
  app.get('/metrics', async (_req, res) => {
    deps.metrics.instancesLive.set(deps.pool.instancesLive);
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.use((_req, res) => { res.status(404).json(new AlgaError('E_NOT_FOUND', 'no such runner route').toBody()); });
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = (err as { status?: number }).status;
    const error = status === 413
      ? new AlgaError('E_BAD_REQUEST', 'request body is too large')
      : status && status < 500 ? new AlgaError('E_BAD_REQUEST', 'request body is not valid JSON') : new AlgaError('E_INTERNAL');
    res.status(error.status).json(error.toBody());
  };
  app.use(onError);
  return app;
}
