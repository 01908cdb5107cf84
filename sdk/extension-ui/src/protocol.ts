/**
 * The wire protocol between an extension's iframe (client) and the platform page (host), as zod
 * schemas both sides parse every message with. One window message starts a conversation — the
 * host's `init`, which transfers a MessagePort — and everything after it travels over that port,
 * so no other window can inject a message into the conversation (see README "Protocol").
 *
 * zod/mini, not classic zod: the same schemas ship inside every extension's UI bundle, where
 * classic zod would add ~450 KB and mini adds ~17 KB.
 *
 * @example
 *   const parsed = clientMessage.safeParse(event.data);
 *   if (parsed.success && parsed.data.type === 'request' && parsed.data.op === 'proxy') forward(parsed.data);
 */
import * as z from 'zod/mini';

/** Marks an init message as ours among whatever else a page posts. */
export const protocolName = 'alga-extension-ui';
export const protocolVersion = 1;
/** The query parameter of the UI's URL that names the platform origin the client must hear from. */
export const parentOriginParam = 'alga-parent-origin';

export const proxyMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type ProxyMethod = (typeof proxyMethods)[number];

/** The longest route or navigation path the host accepts (`checkRoute`). */
export const maxRouteLength = 2048;
/** The ceiling for any call's timeout, whatever a frame asks for. */
export const maxTimeoutMs = 120_000;

const channelId = z.string().check(z.regex(/^[A-Za-z0-9_-]{22,64}$/));
const requestId = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/));
const byteLimit = z.int().check(z.gte(1), z.lte(1 << 30));
// Only a bound on the message: checkRoute's tighter maxRouteLength is what refuses, with E_ROUTE_INVALID.
const route = z.string().check(z.minLength(1), z.maxLength(4 * maxRouteLength));
// A MIME type with parameters; nothing that could smuggle a second header line.
const contentType = z.string().check(z.maxLength(200), z.regex(/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"\r\n]*"|[A-Za-z0-9!#$&^_.+-]+))*$/));
const errorCode = z.string().check(z.regex(/^E_[A-Z0-9_]{1,64}$/));

// ---- host → client, as a window message (the only one) ----

export const initMessage = z.strictObject({
  protocol: z.literal(protocolName),
  version: z.literal(protocolVersion),
  type: z.literal('init'),
  channelId,
  extensionId: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,256}$/)),
  limits: z.strictObject({ maxRequestBytes: byteLimit, maxResponseBytes: byteLimit }),
});
export type InitMessage = z.infer<typeof initMessage>;

// ---- client → host, over the port ----

export const readyMessage = z.strictObject({ type: z.literal('ready'), channelId });

export const proxyRequest = z.strictObject({
  type: z.literal('request'),
  op: z.literal('proxy'),
  channelId,
  id: requestId,
  route,
  method: z.enum(proxyMethods),
  body: z.optional(z.string()),
  contentType: z.optional(contentType),
  timeoutMs: z.optional(z.int().check(z.gte(1), z.lte(maxTimeoutMs))),
}).check(z.refine((m) => m.method !== 'GET' || m.body === undefined, 'a GET request has no body'));
export type ProxyRequest = z.infer<typeof proxyRequest>;

export const resizeRequest = z.strictObject({
  type: z.literal('request'),
  op: z.literal('resize'),
  channelId,
  id: requestId,
  height: z.number().check(z.gte(0), z.lte(1_000_000)),
});

export const navigateRequest = z.strictObject({
  type: z.literal('request'),
  op: z.literal('navigate'),
  channelId,
  id: requestId,
  path: route,
});

export const requestMessage = z.discriminatedUnion('op', [proxyRequest, resizeRequest, navigateRequest]);
export type RequestMessage = z.infer<typeof requestMessage>;

export const clientMessage = z.union([readyMessage, requestMessage]);
export type ClientMessage = z.infer<typeof clientMessage>;

// ---- host → client, over the port ----

/** What a proxy call answers: the response headers are only ever `content-type`. */
export const proxyResult = z.strictObject({
  status: z.int().check(z.gte(100), z.lte(599)),
  headers: z.strictObject({ 'content-type': z.optional(z.string().check(z.maxLength(256))) }),
  body: z.string(),
});
export type ProxyResult = z.infer<typeof proxyResult>;

export const responseMessage = z.union([
  z.strictObject({ type: z.literal('response'), channelId, id: requestId, ok: z.literal(true), result: z.nullable(proxyResult) }),
  z.strictObject({
    type: z.literal('response'), channelId, id: requestId, ok: z.literal(false),
    error: z.strictObject({ code: errorCode, message: z.string().check(z.maxLength(2000)) }),
  }),
]);
export type ResponseMessage = z.infer<typeof responseMessage>;

/** The host ended the conversation (frame destroyed or replaced): pending calls fail with E_NOT_CONNECTED. */
export const closeMessage = z.strictObject({ type: z.literal('close'), channelId });

export const hostMessage = z.union([responseMessage, closeMessage]);
export type HostMessage = z.infer<typeof hostMessage>;
