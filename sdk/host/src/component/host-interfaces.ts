/**
 * The WIT interfaces this host implements and which of their functions are async on the host
 * side (JSPI suspends the guest). The runner's provider registry (runner/src/providers/index.ts)
 * implements exactly these; runner/test/host-interfaces.test.ts keeps the two in step. The gateway's
 * publish check and transpile precompute read this table, so they need no runner internals.
 */
import type { WitInterfaceName } from '@alga-psa/extension-contracts';

export interface HostInterface {
  readonly witInterface: WitInterfaceName;
  /** WIT function names whose host side returns a Promise. */
  readonly asyncFunctions: readonly string[];
}

export const hostInterfaces: readonly HostInterface[] = [
  { witInterface: 'context', asyncFunctions: [] },
  { witInterface: 'log', asyncFunctions: [] },
  { witInterface: 'secrets', asyncFunctions: [] },
  { witInterface: 'http', asyncFunctions: ['fetch'] },
  { witInterface: 'storage', asyncFunctions: ['get', 'put', 'delete', 'list'] },
  { witInterface: 'ui-proxy', asyncFunctions: ['call-route'] },
];

export function hostInterfaceFor(iface: string): HostInterface | undefined {
  return hostInterfaces.find((h) => h.witInterface === iface);
}
