/**
 * Guest TypeScript declarations generated from `wit/` with jco's guest-types. The SDK checks
 * them in under `sdk/extension-runtime/src/generated/`; a test regenerates and compares.
 */
import { generateGuestTypes } from '@bytecodealliance/jco-transpile';
import { witDir } from './world.ts';
import { openBuildPreopens } from './preopens.ts';

export const generatedTypesDir = new URL('../../../extension-runtime/src/generated/', import.meta.url);

/** Relative path → file text, for the full reference world. */
export async function renderGuestTypes(): Promise<Map<string, string>> {
  await openBuildPreopens();
  const files = await generateGuestTypes(witDir, { worldName: 'extension', outDir: '' });
  const out = new Map<string, string>();
  const header = '// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.\n';
  for (const [path, bytes] of Object.entries(files)) out.set(path.replace(/^\/+/, ''), header + new TextDecoder().decode(bytes));
  return out;
}
