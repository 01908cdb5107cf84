/** `alga:extension/context` (cap:context.read, always granted): who is calling, and the install's config JSON. */
import type { CapabilityProvider } from './provider.ts';

export const contextProvider: CapabilityProvider<string> = {
  capability: 'cap:context.read',
  witInterface: 'context',
  asyncFunctions: [],
  // Serialise once per config version, not once per call.
  configure: (install) => JSON.stringify(install.config ?? {}),
  bind: (scope, configJson) => ({
    get: () => ({
      tenantId: scope.tenantId,
      extensionId: scope.extensionId,
      installId: scope.installId,
      versionId: scope.versionId,
      requestId: scope.requestId,
      deadlineMs: BigInt(scope.deadlineMs),
    }),
    config: () => configJson,
  }),
  // Always granted; kept for the uniform shape.
  denied: () => ({ get: () => { throw new Error('context is always granted'); }, config: () => '{}' }),
};
