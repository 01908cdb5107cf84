/** Turns anything thrown in a route into `{ error: { code, message, details? } }` with its catalog status. */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AlgaError } from '@alga-psa/extension-contracts';
import { isDatabaseUnavailable, isInvalidInput } from '../db/database.ts';

/** Express 5 forwards rejected promises itself; this only keeps handlers typed and thin. */
export function route(handler: (req: Request, res: Response, next: NextFunction) => Promise<unknown> | unknown): RequestHandler {
  return (req, res, next) => Promise.resolve(handler(req, res, next)).then(() => undefined, next);
}

export function toAlgaError(err: unknown): AlgaError {
  if (err instanceof AlgaError) return err;
  if (isDatabaseUnavailable(err)) return new AlgaError('E_DATABASE_UNAVAILABLE', 'the database is unreachable; retry shortly');
  if (isInvalidInput(err)) return new AlgaError('E_BAD_REQUEST', 'the request contains a value that cannot be stored or looked up (e.g. a NUL byte or a malformed id)');
  const { status, type, limit } = (err ?? {}) as { status?: number; type?: string; limit?: number };
  if (status === 413) return new AlgaError('E_BODY_TOO_LARGE', limit ? `the request body is larger than this route's ${limit}-byte limit` : undefined);
  // express.json is strict: a bare string, number, boolean or null at the top is refused too.
  if (type === 'entity.parse.failed') return new AlgaError('E_BAD_REQUEST', 'request body must be a JSON object or array');
  if (err instanceof URIError) return new AlgaError('E_BAD_REQUEST', 'the URL has an invalid percent-encoding');
  if (status && status >= 400 && status < 500) return new AlgaError('E_BAD_REQUEST', type === 'encoding.unsupported' || type === 'charset.unsupported' ? 'unsupported request body encoding' : 'malformed request');
  return new AlgaError('E_INTERNAL');
}

/**
 * Before any route: a path that does not percent-decode, or decodes to a NUL byte, is refused at
 * the edge with a clear message (it used to reach PostgreSQL and come back as a 500).
 */
export function rejectMalformedPaths(): RequestHandler {
  return (req, _res, next) => {
    let path: string;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      return next(new AlgaError('E_BAD_REQUEST', 'the URL path has an invalid percent-encoding (e.g. %ZZ or an overlong UTF-8 sequence)'));
    }
    if (path.includes('\u0000')) return next(new AlgaError('E_BAD_REQUEST', 'the URL path contains a NUL byte'));
    next();
  };
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
