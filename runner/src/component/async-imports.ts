import { witPackage, witVersion } from '@alga-psa/extension-contracts';
import { providers } from '../providers/index.ts';

export const handleExport = `${witPackage}/handler@${witVersion}#handle`;

/** jco `asyncImports` entries for every provider function that returns a Promise. */
export function asyncImportsFor(): string[] {
  return providers.flatMap((p) => p.asyncFunctions.map((fn) => `${witPackage}/${p.witInterface}@${witVersion}#${fn}`));
}
