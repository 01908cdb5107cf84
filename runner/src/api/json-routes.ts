/**
 * The runner's JSON POST routes (`/v1/execute`, `/v1/prepare`) on node:http directly, in front of
 * the express app (which keeps every other route). Every execute request crosses this path and
 * the runner's main thread is its throughput bottleneck: express's router, body-parser (raw-body, type-is, iconv) and `res.json` (mime
 * lookups, charset, content-length by re-encoding) measured ~0.2 ms of main-thread CPU per request
 * on these 2-core machines, about a fifth of it. The behaviour is express's: a JSON body of at
 * most `maxBodyBytes`, the same error bodies and codes (413 is now E_BODY_TOO_LARGE).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AlgaError } from '@alga-psa/extension-contracts';

/** An execute request may carry a body up to the gateway's own limit, base64-encoded (4/3) plus the install's config. */
export const maxJsonBodyBytes = 24 * 1024 * 1024;

export type JsonOutcome = { status: number; body: unknown };
/** A route's use case: the Authorization header and the parsed body in, a status and JSON body out. */
export type JsonRoute = (authorization: string | undefined, body: unknown) => Promise<JsonOutcome>;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function refuse(res: ServerResponse, error: AlgaError): void {
  // The rest of an oversized or unreadable body is not read: the connection goes with the answer.
  res.shouldKeepAlive = false;
  sendJson(res, error.status, error.toBody());
}

/** JSON only, as express.json: `application/json` or `+json`, any charset parameter but utf-8 refused. */
function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.toLowerCase().split(';').map((s) => s.trim());
  if (type !== 'application/json' && !type.endsWith('+json')) return false;
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/**
 * `POST <path>` for each route: reads the body (bounded), parses it and hands it to the route.
 * `fallback` serves every other request (the express app).
 */
export function jsonPostListener(routes: Record<string, JsonRoute>, fallback: RequestListener, maxBodyBytes = maxJsonBodyBytes): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const route = req.method === 'POST' && Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) return fallback(req, res);
    if (!isJson(req.headers['content-type'])) {
      return refuse(res, new AlgaError('E_BAD_REQUEST', `the ${path} request body must be application/json (utf-8)`));
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      return refuse(res, new AlgaError('E_BAD_REQUEST', `content-encoding ${encoding} is not accepted on ${path}`));
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) return refuse(res, new AlgaError('E_BODY_TOO_LARGE', `the ${path} request body is larger than ${maxBodyBytes} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        refuse(res, new AlgaError('E_BODY_TOO_LARGE', `the ${path} request body is larger than ${maxBodyBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => { refused = true; });
    req.on('end', () => {
      if (refused) return;
      let body: unknown;
      try {
        body = JSON.parse((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8'));
      } catch {
        return refuse(res, new AlgaError('E_BAD_REQUEST', 'request body is not valid JSON'));
      }
      route(req.headers.authorization, body).then((outcome) => sendJson(res, outcome.status, outcome.body), () => sendJson(res, 500, new AlgaError('E_INTERNAL').toBody()));
    });
  };
}
