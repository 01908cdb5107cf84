/** `alga --version`: the CLI, the WIT package and the toolchain it was tested with. */
import { readFile } from 'node:fs/promises';
import { installedPackageVersion } from '@alga-psa/extension-contracts';
import { witFile } from '../build/world.ts';

/** The toolchain this CLI is tested with; a build refuses another (DESIGN.md §11: mismatched componentize-js). */
export const testedToolchain = { '@bytecodealliance/componentize-js': '0.23.0', '@bytecodealliance/jco': '1.35.0' } as const;

export async function versions(): Promise<Record<string, string>> {
  const wit = /^package\s+([\w:.-]+@[\w.-]+)\s*;/m.exec(await readFile(witFile, 'utf8'))?.[1] ?? 'unknown';
  return {
    alga: installedPackageVersion('@alga-psa/cli', import.meta.url) ?? '0.0.0',
    wit,
    componentizeJs: installedPackageVersion('@bytecodealliance/componentize-js', import.meta.url) ?? 'missing',
    jco: installedPackageVersion('@bytecodealliance/jco', import.meta.url) ?? 'missing',
    node: process.version,
  };
}

/** Fails fast with a clear message when the toolchain found is not the one the CLI was tested with. */
export function checkToolchain(found: Record<string, string>): string | undefined {
  const pairs: Array<[keyof typeof testedToolchain, string]> = [['@bytecodealliance/componentize-js', found.componentizeJs], ['@bytecodealliance/jco', found.jco]];
  const off = pairs.filter(([pkg, version]) => version !== testedToolchain[pkg]);
  if (off.length === 0) return undefined;
  return off.map(([pkg, version]) => `${pkg} is ${version}, alga is tested with ${testedToolchain[pkg]}`).join('; ');
}
