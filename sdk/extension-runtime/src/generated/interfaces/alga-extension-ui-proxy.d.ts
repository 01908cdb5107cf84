// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/ui-proxy@0.1.0' {
  export function callRoute(method: string, route: string, body: Uint8Array | undefined): HttpResponse;
  export type HttpResponse = import('alga:extension/types@0.1.0').HttpResponse;
  export type ProxyError = ProxyErrorDenied | ProxyErrorNotFound | ProxyErrorBadRequest | ProxyErrorUnavailable;
  export interface ProxyErrorDenied {
    tag: 'denied',
  }
  export interface ProxyErrorNotFound {
    tag: 'not-found',
  }
  export interface ProxyErrorBadRequest {
    tag: 'bad-request',
    val: string,
  }
  export interface ProxyErrorUnavailable {
    tag: 'unavailable',
    val: string,
  }
}
