/**
 * The HTTP face of `alga component dev` (node:http, loopback only):
 *
 *   ANY  /<endpoint path>                 the extension's declared endpoints (as `/api/ext/<name>/…` in production)
 *   ANY  /api/ext-proxy/<name>/<path>     the same, as the iframe bridge calls them
 *   GET  /ext-ui/<name>/<hash>/<asset>    the UI's files, with the gateway's sandbox CSP
 *   GET  /                                the dev shell (manifests with `ui`, unless GET / is an endpoint)
 *   GET  /_alga/{state,events,host.js,shell.js,shell.css}   the shell's own parts
 *
 * Production's response policy applies to what the extension answers (header allowlist, sandbox
 * CSP), so a page that works here works behind the gateway. A dev server is reachable from any
 * page the developer visits, so it answers only to loopback Host names (no DNS rebinding) and
 * the proxy routes only to same-origin browser calls.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  contentHashPattern, extUiAssetHeaders, extUiContentType, extUiCsp, isSafeArchivePath, type Manifest,
} from '@alga-psa/extension-contracts';
import { extensionRequestHeaders, isAllowedResponseHeader, proxiedResponseSecurityHeaders, singleValuedResponseHeaders } from '@alga-psa/extension-contracts/proxy-headers';
import type { LocalInstall, LocalResponse } from '../local-host/local-host.ts';
import { shellCss, shellHtml, shellJs } from './dev-shell.ts';

export type BuildState = { state: 'building' } | { state: 'ready'; contentHash: string; builtAt: number } | { state: 'failed'; code: string; message: string; contentHash?: string };

export interface DevServerOptions {
  install: LocalInstall;
  port: number;
  /** The host bridge's browser bundle (IIFE, global `AlgaExtensionHost`); built on first use. */
  hostBridge: () => Promise<string>;
  /** UI files of a deployed bundle, by content hash. */
  uiFiles: (contentHash: string) => Map<string, Uint8Array> | undefined;
  build: () => BuildState;
  onRequest: (record: { method: string; path: string; response: LocalResponse }) => void;
}

export interface DevServer {
  url: string;
  server: Server;
  /** What the shell shows: the deployed build, its UI URL, the build state. */
  state(): object;
  /** Tell open shells something happened (`deployed`, `build-failed`, `building`). */
  broadcast(event: string, data: object): void;
  close(): Promise<void>;
}

const maxBodyBytes = 10 * 1024 * 1024;

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(value));
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw Object.assign(new Error('too large'), { tooLarge: true });
    chunks.push(chunk as Buffer);
  }
  return size > 0 ? Buffer.concat(chunks) : undefined;
}

export function extensionUiUrl(manifest: Manifest, contentHash: string): string | undefined {
  if (!manifest.ui) return undefined;
  return `/ext-ui/${encodeURIComponent(manifest.name)}/${contentHash}/${manifest.ui.entry.replace(/^ui\//, '')}`;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const { install } = options;
  const clients = new Set<ServerResponse>();
  let port = options.port;
  const loopbackHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  let allowedHosts = loopbackHosts();

  async function forward(req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
    let body: Buffer | undefined;
    try {
      body = await readBody(req);
    } catch {
      return error(res, 413, 'E_BODY_TOO_LARGE', `request bodies are limited to ${maxBodyBytes} bytes`);
    }
    const response = await install.request({
      method: req.method ?? 'GET', path: `${path}${query}`, headers: extensionRequestHeaders(req.headers), body,
    });
    options.onRequest({ method: req.method ?? 'GET', path: `${path}${query}`, response });
    for (const [name, value] of proxiedResponseSecurityHeaders) res.setHeader(name, value);
    if (response.errorCode) {
      res.statusCode = response.status;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(response.body);
      return;
    }
    res.statusCode = response.status;
    for (const [name, value] of response.headers) {
      if (!isAllowedResponseHeader(name)) continue;
      try {
        if (singleValuedResponseHeaders.has(name.toLowerCase())) res.setHeader(name, value);
        else res.appendHeader(name, value);
      } catch { /* a value Node refuses to send is dropped, as the gateway drops it */ }
    }
    res.setHeader('x-request-id', response.requestId);
    res.end(response.body);
  }

  function serveUi(res: ServerResponse, parts: string[]): void {
    const [, contentHash, ...rest] = parts;
    const asset = rest.join('/') || 'index.html';
    const files = contentHashPattern.test(contentHash ?? '') && isSafeArchivePath(asset) ? options.uiFiles(contentHash) : undefined;
    const data = files?.get(asset);
    if (!data) return error(res, 404, 'E_NOT_FOUND', 'no such UI asset in the deployed build');
    res.setHeader('content-security-policy', extUiCsp(`http://127.0.0.1:${port} http://localhost:${port}`));
    for (const [name, value] of extUiAssetHeaders) res.setHeader(name, value);
    res.setHeader('content-type', extUiContentType(asset));
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    res.end(Buffer.from(data));
  }

  function state(): object {
    const deployment = install.current();
    return {
      name: deployment?.manifest.name, version: deployment?.manifest.version, contentHash: deployment?.contentHash,
      uiUrl: deployment ? extensionUiUrl(deployment.manifest, deployment.contentHash) : undefined,
      endpoints: deployment?.manifest.api.endpoints ?? [], build: options.build(),
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedHosts.has(req.headers.host ?? '')) {
      return error(res, 403, 'E_FORBIDDEN', `the dev server answers only to ${[...allowedHosts].join(', ')} (a page on another name could be a DNS-rebinding attack)`);
    }
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const query = url.search;
    const path = (req.url ?? '/').split('?')[0];
    const deployment = install.current();
    const method = req.method ?? 'GET';

    if (path.startsWith('/_alga/')) {
      if (method !== 'GET') return error(res, 405, 'E_METHOD_NOT_ALLOWED', 'the dev shell parts are read-only');
      const shellHeaders = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
      switch (path) {
        case '/_alga/state': return sendJson(res, 200, state());
        case '/_alga/host.js': res.writeHead(200, { ...shellHeaders, 'content-type': 'text/javascript; charset=utf-8' }); res.end(await options.hostBridge()); return;
        case '/_alga/shell.js': res.writeHead(200, { ...shellHeaders, 'content-type': 'text/javascript; charset=utf-8' }); res.end(shellJs); return;
        case '/_alga/shell.css': res.writeHead(200, { ...shellHeaders, 'content-type': 'text/css; charset=utf-8' }); res.end(shellCss); return;
        case '/_alga/events': {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
          res.write(`event: state\ndata: ${JSON.stringify(state())}\n\n`);
          clients.add(res);
          req.on('close', () => clients.delete(res));
          return;
        }
        default: return error(res, 404, 'E_NOT_FOUND', 'no such dev shell part');
      }
    }
    if (path.startsWith('/ext-ui/')) {
      if (method !== 'GET' && method !== 'HEAD') return error(res, 405, 'E_METHOD_NOT_ALLOWED', 'UI assets are read-only');
      if (req.headers['service-worker'] !== undefined) return error(res, 403, 'E_FORBIDDEN', 'extension UI assets cannot be service-worker scripts');
      return serveUi(res, path.slice('/ext-ui/'.length).split('/'));
    }
    if (path.startsWith('/api/ext-proxy/')) {
      // Only the shell's bridge calls these: a same-origin browser request, or a tool without a browser.
      const site = req.headers['sec-fetch-site'];
      const origin = req.headers.origin;
      if ((site !== undefined && site !== 'same-origin') || (origin !== undefined && !allowedHosts.has(origin.replace(/^http:\/\//, '')))) {
        return error(res, 403, 'E_CSRF', 'the proxy routes answer only to the dev shell page (same origin)');
      }
      const rest = path.slice('/api/ext-proxy/'.length);
      const slash = rest.indexOf('/');
      const name = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
      if (deployment && name !== deployment.manifest.name) return error(res, 404, 'E_INSTALL_DISABLED', `this dev server runs ${deployment.manifest.name}, not ${name}`);
      return forward(req, res, slash < 0 ? '/' : rest.slice(slash), query);
    }
    if (path === '/' && method === 'GET' && deployment?.manifest.ui && !deployment.manifest.api.endpoints.some((e) => e.method === 'GET' && e.path === '/')) {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      });
      res.end(shellHtml(deployment.manifest));
      return;
    }
    return forward(req, res, path, query);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) error(res, 500, 'E_INTERNAL', `the dev server failed: ${(err as Error).message}`);
      else res.destroy();
    });
  });
  server.listen(options.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { server.once('listening', resolve); server.once('error', reject); });
  port = (server.address() as AddressInfo).port;
  allowedHosts = loopbackHosts();
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    state,
    broadcast(event, data) {
      for (const client of clients) client.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    async close() {
      for (const client of clients) client.end();
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    },
  };
}
