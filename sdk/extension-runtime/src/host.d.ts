/// <reference path="./generated/extension.d.ts" />
// `alga:host` is generated per build from the manifest's capabilities (sdk/cli/src/build/world.ts):
// an interface the manifest does not declare is `undefined` here and is not imported by the component.
declare module 'alga:host' {
  export const host: {
    context: typeof import('alga:extension/context@0.1.0');
    log: typeof import('alga:extension/log@0.1.0');
    secrets: typeof import('alga:extension/secrets@0.1.0') | undefined;
    http: typeof import('alga:extension/http@0.1.0') | undefined;
    storage: typeof import('alga:extension/storage@0.1.0') | undefined;
    'ui-proxy': typeof import('alga:extension/ui-proxy@0.1.0') | undefined;
  };
}
