// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.
declare module 'alga:extension/storage@0.1.0' {
  export function get(namespace: string, key: string): Entry | undefined;
  /**
   * Compare-and-set when expected-revision is given; 0 means "must not exist".
   */
  export function put(namespace: string, key: string, value: Uint8Array, expectedRevision: bigint | undefined): bigint;
  export { _delete as delete };
  function _delete(namespace: string, key: string, expectedRevision: bigint | undefined): boolean;
  export function list(namespace: string, prefix: string | undefined, cursor: string | undefined, limit: number): Page;
  export interface Entry {
    key: string,
    value: Uint8Array,
    revision: bigint,
  }
  export interface Page {
    keys: Array<string>,
    nextCursor?: string,
  }
  export type StorageError = StorageErrorDenied | StorageErrorConflict | StorageErrorQuotaExceeded | StorageErrorInvalid | StorageErrorUnavailable;
  export interface StorageErrorDenied {
    tag: 'denied',
  }
  export interface StorageErrorConflict {
    tag: 'conflict',
  }
  export interface StorageErrorQuotaExceeded {
    tag: 'quota-exceeded',
    val: string,
  }
  export interface StorageErrorInvalid {
    tag: 'invalid',
    val: string,
  }
  export interface StorageErrorUnavailable {
    tag: 'unavailable',
    val: string,
  }
}
