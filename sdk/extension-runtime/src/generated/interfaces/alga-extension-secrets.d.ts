// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.
declare module 'alga:extension/secrets@0.1.0' {
  export function get(key: string): string;
  export function listKeys(): Array<string>;
  export type SecretError = SecretErrorNotFound | SecretErrorDenied | SecretErrorUnavailable;
  export interface SecretErrorNotFound {
    tag: 'not-found',
  }
  export interface SecretErrorDenied {
    tag: 'denied',
  }
  export interface SecretErrorUnavailable {
    tag: 'unavailable',
    val: string,
  }
}
