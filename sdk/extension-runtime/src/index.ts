/**
 * @alga-psa/extension-runtime — the guest SDK for Alga extensions.
 *
 * @example
 *   import { createRouter, jsonResponse } from '@alga-psa/extension-runtime';
 *   const app = createRouter().get('/hello', (req, ctx) => jsonResponse(200, { hi: ctx.install.tenantId }));
 *   export const handler = app.handler();
 */
export { createRouter, Router, jsonResponse, textResponse, type ApiCall, type ApiHandlers, type Request, type Response, type RouteHandler } from './router.ts';
export { splitRouteKey, type ApiContract, type ApiMethod, type ApiRequestOf, type ApiResponseOf, type ApiRouteKey } from './api-contract.ts';
export { createContext, type Context, type ExtensionConfig, type FetchInit, type FetchResponse, type InstallInfo, type StoredValue } from './context.ts';
export { HostError, CapabilityNotDeclaredError } from './errors.ts';
