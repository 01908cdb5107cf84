/**
 * The `POST /v1/execute` contract (DESIGN.md §5), shared with the gateway that builds it.
 * Times are absolute Unix milliseconds.
 */
import { z } from 'zod';
import { contentHashPattern } from '../bundle.ts';

const id = z.string().min(1).max(200);
const pairs = z.union([
  z.array(z.tuple([z.string().max(8192), z.string().max(65536)])).max(500),
  z.record(z.string().max(8192), z.string().max(65536)).transform((r) => Object.entries(r)),
]);

export const executeBodySchema = z.strictObject({
  context: z.strictObject({
    requestId: id,
    tenantId: id,
    extensionId: id,
    installId: id,
    versionId: id,
    contentHash: z.string().regex(contentHashPattern, 'must be a sha256 hex digest'),
  }),
  request: z.strictObject({
    method: z.string().regex(/^[A-Z]{1,16}$/, 'must be an upper-case HTTP method'),
    path: z.string().startsWith('/').max(8192),
    query: pairs.default([]),
    headers: pairs.default([]),
    bodyB64: z.string().max(16 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64').optional(),
  }),
  install: z.strictObject({
    config: z.record(z.string(), z.unknown()).default({}),
    configVersion: z.number().int().nonnegative(),
    grantedCapabilities: z.array(z.string()).default([]),
    httpAllowedHosts: z.array(z.string()).default([]),
    storageNamespaces: z.array(z.string()).nullable().default(null),
    uiProxyRoutes: z.array(z.string()).default([]),
  }),
  secrets: z.strictObject({
    secretsVersion: z.number().int().nonnegative(),
    envelope: z.record(z.string(), z.string()).default({}),
  }).default({ secretsVersion: 0, envelope: {} }),
  limits: z.strictObject({
    deadlineMs: z.number().int().positive(),
    memoryMb: z.number().int().positive().optional(),
  }),
});

export type ExecuteBody = z.infer<typeof executeBodySchema>;
export type InstallSpec = ExecuteBody['install'] & {
  tenantId: string;
  extensionId: string;
  installId: string;
  versionId: string;
  contentHash: string;
};

export interface ExecuteSuccess {
  status: number;
  headers: Array<[string, string]>;
  bodyB64: string;
  logs: Array<{ level: string; message: string; fields: Record<string, string>; ts: number }>;
  metrics: { durationMs: number; hostCalls: number };
}
