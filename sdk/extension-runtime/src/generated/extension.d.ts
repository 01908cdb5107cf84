// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.
/// <reference path="./interfaces/alga-extension-context.d.ts" />
/// <reference path="./interfaces/alga-extension-handler.d.ts" />
/// <reference path="./interfaces/alga-extension-http.d.ts" />
/// <reference path="./interfaces/alga-extension-log.d.ts" />
/// <reference path="./interfaces/alga-extension-secrets.d.ts" />
/// <reference path="./interfaces/alga-extension-storage.d.ts" />
/// <reference path="./interfaces/alga-extension-types.d.ts" />
/// <reference path="./interfaces/alga-extension-ui-proxy.d.ts" />
declare module 'alga:extension/extension@0.1.0' {
  export type * as AlgaExtensionContext010 from 'alga:extension/context@0.1.0'; // import alga:extension/context@0.1.0
  export type * as AlgaExtensionHttp010 from 'alga:extension/http@0.1.0'; // import alga:extension/http@0.1.0
  export type * as AlgaExtensionLog010 from 'alga:extension/log@0.1.0'; // import alga:extension/log@0.1.0
  export type * as AlgaExtensionSecrets010 from 'alga:extension/secrets@0.1.0'; // import alga:extension/secrets@0.1.0
  export type * as AlgaExtensionStorage010 from 'alga:extension/storage@0.1.0'; // import alga:extension/storage@0.1.0
  export type * as AlgaExtensionTypes010 from 'alga:extension/types@0.1.0'; // import alga:extension/types@0.1.0
  export type * as AlgaExtensionUiProxy010 from 'alga:extension/ui-proxy@0.1.0'; // import alga:extension/ui-proxy@0.1.0
  export * as handler from 'alga:extension/handler@0.1.0'; // export alga:extension/handler@0.1.0
}
