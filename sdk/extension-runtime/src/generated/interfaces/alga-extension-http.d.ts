// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/http@0.1.0' {
  export function fetch(req: OutgoingRequest): IncomingResponse;
  export type Header = import('alga:extension/types@0.1.0').Header;
  export interface OutgoingRequest {
    method: string,
    url: string,
    headers: Array<Header>,
    body?: Uint8Array,
    timeoutMs?: number,
  }
  export interface IncomingResponse {
    status: number,
    headers: Array<Header>,
    body: Uint8Array,
  }
  export type HttpError = HttpErrorDenied | HttpErrorInvalidRequest | HttpErrorTimeout | HttpErrorTooLarge | HttpErrorTransport;
  export interface HttpErrorDenied {
    tag: 'denied',
    val: string,
  }
  export interface HttpErrorInvalidRequest {
    tag: 'invalid-request',
    val: string,
  }
  export interface HttpErrorTimeout {
    tag: 'timeout',
  }
  export interface HttpErrorTooLarge {
    tag: 'too-large',
  }
  export interface HttpErrorTransport {
    tag: 'transport',
    val: string,
  }
}
