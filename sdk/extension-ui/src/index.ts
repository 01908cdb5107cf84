/**
 * `@alga-psa/extension-ui`: the iframe SDK. The UI imports `./client`, the platform page imports
 * `./host`; this entry holds what both sides share (errors, the message schemas, route checks).
 *
 * @example
 *   import { ExtensionUiError, clientMessage, checkRoute } from '@alga-psa/extension-ui';
 *   clientMessage.safeParse(event.data).success;
 *   checkRoute('/tickets/1');   // { path: '/tickets/1', query: '' }
 */
export * from './errors.ts';
export * from './protocol.ts';
export { checkRoute, type CheckedRoute } from './route.ts';
export { compileAllowedRoutes, type AllowedRoute, type RouteFilter } from './allowed-routes.ts';
