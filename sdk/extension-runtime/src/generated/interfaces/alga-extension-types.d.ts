// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.
declare module 'alga:extension/types@0.1.0' {
  export type Header = [string, string];
  export interface HttpRequest {
    method: string,
    path: string,
    query: Array<[string, string]>,
    headers: Array<Header>,
    body?: Uint8Array,
  }
  export interface HttpResponse {
    status: number,
    headers: Array<Header>,
    body?: Uint8Array,
  }
}
