// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.
declare module 'alga:extension/context@0.1.0' {
  export function get(): InstallContext;
  /**
   * The install's settings as a JSON object. Secrets never appear here.
   */
  export function config(): string;
  export interface InstallContext {
    tenantId: string,
    extensionId: string,
    installId: string,
    versionId: string,
    requestId: string,
    deadlineMs: bigint,
  }
}
