// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/handler@0.1.0' {
  export function handle(req: HttpRequest): HttpResponse;
  export type HttpRequest = import('alga:extension/types@0.1.0').HttpRequest;
  export type HttpResponse = import('alga:extension/types@0.1.0').HttpResponse;
}
