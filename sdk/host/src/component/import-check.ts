/**
 * The one check of a component's world and imports, used at publish (gateway,
 * E_UNDECLARED_IMPORT) and again at load (runner, E_CAPABILITY_DENIED, defence in depth).
 */
import {
  AlgaError, capabilityForInterface, capabilityFreeInterfaces, witInterfaceOfImport, witPackage, witVersion,
  type CapabilityId, type ErrorCode,
} from '@alga-psa/extension-contracts';
import { hostInterfaceFor } from './host-interfaces.ts';

export const handlerExport = `${witPackage}/handler@${witVersion}`;

/** Returns the capability-bearing interfaces the component imports, or throws. */
export function checkComponentWorld(
  transpiled: { imports: readonly string[]; exports: readonly string[] },
  declared: ReadonlySet<CapabilityId>,
  undeclaredCode: Extract<ErrorCode, 'E_UNDECLARED_IMPORT' | 'E_CAPABILITY_DENIED'>,
): string[] {
  if (!transpiled.exports.includes(handlerExport)) {
    throw new AlgaError('E_BUNDLE_INVALID', `component does not export ${handlerExport}: it was built for a different world`);
  }
  const interfaces: string[] = [];
  for (const name of transpiled.imports) {
    const iface = witInterfaceOfImport(name);
    if (iface && capabilityFreeInterfaces.includes(iface)) continue;
    const capability = iface ? capabilityForInterface(iface) : undefined;
    if (!iface || !capability) {
      throw new AlgaError('E_BUNDLE_INVALID', `component imports ${name}, which the runner does not provide (only ${witPackage}/* interfaces are linked; rebuild with all WASI features disabled)`);
    }
    if (!declared.has(capability)) {
      throw new AlgaError(undeclaredCode, `component imports ${name} but its manifest does not declare ${capability}`);
    }
    if (!hostInterfaceFor(iface)) {
      throw new AlgaError('E_BUNDLE_INVALID', `component imports ${name}, which this runner version does not implement`);
    }
    interfaces.push(iface);
  }
  return interfaces;
}
