import { witPackage, witVersion } from '@alga-psa/extension-contracts';
import { hostInterfaces } from './host-interfaces.ts';

export const handleExport = `${witPackage}/handler@${witVersion}#handle`;

/**
 * jco `asyncImports` entries for the provider functions that return a Promise, limited to the
 * interfaces the component imports (`alga:extension/http`, as jco lists them).
 */
export function asyncImportsFor(componentImports: readonly string[]): string[] {
  const imported = new Set(componentImports.map((name) => name.replace(/@[^@]*$/, '')));
  return hostInterfaces
    .filter((p) => imported.has(`${witPackage}/${p.witInterface}`))
    .flatMap((p) => p.asyncFunctions.map((fn) => `${witPackage}/${p.witInterface}@${witVersion}#${fn}`));
}
