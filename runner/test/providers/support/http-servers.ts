/**
 * Real loopback HTTP servers and an `http` provider bound to a scope, for the provider's tests.
 * Call `closeServers()` in `afterEach`.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { httpProvider } from '../../../src/providers/http.ts';
import type { OutgoingRequest, IncomingResponse } from '../../../src/providers/http.ts';
import type { RequestScope } from '../../../src/providers/provider.ts';
import type { InstallSpec } from '@alga-psa/extension-contracts';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface TestServer {
  port: number;
  origin: string;
  requests: Recorded[];
  readonly connections: number;
  close(): Promise<void>;
}

const servers: TestServer[] = [];

export async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close()));
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer, self: TestServer) => void;

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: Recorded[] = [];
  let connections = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    handler(req, res, body, self);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const self: TestServer = {
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(self);
  return self;
}

/** A port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface ScopeOptions {
  allowedHosts: string[];
  cidrs?: string[];
  maxBytes?: number;
  maxRedirects?: number;
  deadlineMs?: number;
  /** What the provider's `prepare` gives a request with cap:secrets.use (none: the install lacks it). */
  prepared?: unknown;
  /** Collects what the provider marks sensitive. */
  sensitive?: string[];
}

export function fetcher(o: ScopeOptions): (req: Partial<OutgoingRequest>) => Promise<IncomingResponse> {
  const install: InstallSpec = {
    config: {},
    configVersion: 1,
    grantedCapabilities: ['cap:http.fetch'],
    httpAllowedHosts: o.allowedHosts,
    storageNamespaces: null,
    uiProxyRoutes: [],
    tenantId: 'tenant-a',
    extensionId: 'ext-1',
    installId: 'install-1',
    versionId: 'version-1',
    contentHash: 'a'.repeat(64),
  };
  const scope: RequestScope = {
    requestId: 'req-1',
    tenantId: 'tenant-a',
    extensionId: 'ext-1',
    installId: 'install-1',
    versionId: 'version-1',
    deadlineMs: o.deadlineMs ?? Date.now() + 5000,
    install,
    executionToken: 'x',
    prepared: o.prepared,
    operator: {
      httpAllowedPrivateCidrs: o.cidrs ?? [],
      httpMaxResponseBytes: o.maxBytes ?? 1024 * 1024,
      httpMaxRedirects: o.maxRedirects ?? 5,
      gatewayUrl: undefined,
    },
    log: () => {},
    markSensitive: (value) => { o.sensitive?.push(value); },
  };
  const fns = httpProvider.bind(scope, httpProvider.configure(install));
  return (req) =>
    fns.fetch({ method: 'GET', url: '', headers: [], body: undefined, timeoutMs: undefined, ...req }) as Promise<IncomingResponse>;
}

/** Await a rejection and return what was thrown: it must be a WIT variant, never an Error. */
export async function failure(p: Promise<unknown>): Promise<{ tag: string; val?: unknown }> {
  let thrown: unknown;
  try {
    await p;
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error('expected the call to fail');
  expect(thrown).not.toBeInstanceOf(Error);
  expect(typeof (thrown as { tag: unknown }).tag).toBe('string');
  return thrown as { tag: string; val?: unknown };
}

export const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
export const header = (res: IncomingResponse, name: string) => res.headers.filter(([k]) => k === name).map(([, v]) => v);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
