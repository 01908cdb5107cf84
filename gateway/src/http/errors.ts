/** Turns anything thrown in a route into `{ error: { code, message, details? } }` with its catalog status. */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AlgaError } from '@alga-psa/extension-contracts';
import { isDatabaseUnavailable } from '../db/database.ts';

/** Express 5 forwards rejected promises itself; this only keeps handlers typed and thin. */
export function route(handler: (req: Request, res: Response, next: NextFunction) => Promise<unknown> | unknown): RequestHandler {
  return (req, res, next) => Promise.resolve(handler(req, res, next)).then(() => undefined, next);
}

export function toAlgaError(err: unknown): AlgaError {
  if (err instanceof AlgaError) return err;
  if (isDatabaseUnavailable(err)) return new AlgaError('E_DATABASE_UNAVAILABLE', 'the database is unreachable; retry shortly');
  const status = (err as { status?: number; type?: string })?.status;
  if (status === 413) return new AlgaError('E_BAD_REQUEST', 'request body is too large');
  if (status && status >= 400 && status < 500) return new AlgaError('E_BAD_REQUEST', 'request body is not valid JSON');
  return new AlgaError('E_INTERNAL');
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const error = toAlgaError(err);
    if (error.code === 'E_INTERNAL') logger.error({ err, path: req.path }, 'unhandled error');
    if (res.headersSent) return;
    res.status(error.status).json(error.toBody(res.locals.requestId as string | undefined));
  };
}

export function notFound(): RequestHandler {
  return (_req, res) => { res.status(404).json(new AlgaError('E_NOT_FOUND', 'no such route').toBody()); };
}
