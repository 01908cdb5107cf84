/**
 * The provider registry: the only list of capabilities the runner core knows.
 * Adding a capability = one new module + one line here.
 */
import type { CapabilityProvider } from './provider.ts';
import { contextProvider } from './context.ts';
import { logProvider } from './log.ts';
import { httpProvider } from './http.ts';
import { secretsProvider } from './secrets.ts';
import { storageProvider } from './storage.ts';
import { uiProxyProvider } from './ui-proxy.ts';

export const providers: readonly CapabilityProvider<any>[] = [contextProvider, logProvider, secretsProvider, httpProvider, storageProvider, uiProxyProvider];

export function providerForInterface(iface: string): CapabilityProvider<any> | undefined {
  return providers.find((p) => p.witInterface === iface);
}
