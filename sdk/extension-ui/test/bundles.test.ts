/**
 * The browser bundles stay small and CSP-safe: the host bridge takes its path patterns from the
 * zod-free `@alga-psa/extension-contracts/path-pattern`, never the manifest module (full zod and
 * every manifest schema, ~480 KB minified), and neither bundle holds code that could reach
 * `new Function` (the pages they run in have no 'unsafe-eval'). `zod/mini` (the protocol
 * schemas) is expected; classic zod is not.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtensionUiBundles, type ExtensionUiBundles } from '../src/build-bundles.ts';

// Measured at about 31.6 KB (client) and 39.9 KB (host) minified; the bounds leave ~25% headroom.
const maxMinifiedBytes = { clientIife: 40_000, clientEsm: 40_000, hostIife: 50_000, hostEsm: 50_000 } as const;
const keys = Object.keys(maxMinifiedBytes) as Array<keyof typeof maxMinifiedBytes>;

let dir: string;
let minified: ExtensionUiBundles;
let plain: ExtensionUiBundles;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alga-ui-bundles-'));
  [minified, plain] = await Promise.all([
    buildExtensionUiBundles({ outDir: dir }),
    buildExtensionUiBundles({ outDir: dir, minify: false }),
  ]);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The source files an unminified esbuild bundle names in its `// path` comments. */
function modulesOf(code: string): string[] {
  return [...code.matchAll(/^\s*\/\/ ((?:node_modules|sdk)\/\S+)$/gm)].map((m) => m[1]);
}

describe('extension-ui browser bundles', () => {
  it.each(keys)('%s stays under its size bound', (key) => {
    expect(Buffer.byteLength(minified[key].code)).toBeLessThan(maxMinifiedBytes[key]);
  });

  it.each(keys)('%s holds no classic zod and no manifest schema', (key) => {
    const modules = modulesOf(plain[key].code);
    expect(modules.length).toBeGreaterThan(5);
    expect(modules.filter((m) => m.startsWith('node_modules/zod/') && !/^node_modules\/zod\/v4\/(core|mini)\//.test(m))).toEqual([]);
    expect(modules.filter((m) => m.startsWith('sdk/contracts/src/'))).toEqual(
      key.startsWith('host') ? ['sdk/contracts/src/errors.ts', 'sdk/contracts/src/path-pattern.ts', 'sdk/contracts/src/ext-ui-policy.ts'] : [],
    );
    for (const code of [minified[key].code, plain[key].code]) {
      expect(code).not.toContain('"ZodError"'); // classic zod's error class (zod/mini's is "$ZodError")
      expect(code).not.toContain('unknown capability'); // the manifest schema's messages
    }
  });

  it.each(keys)('%s never names Function (no eval under a CSP without unsafe-eval)', (key) => {
    expect(minified[key].code).not.toMatch(/\bFunction\b/);
    expect(plain[key].code).not.toMatch(/\bFunction\b/);
  });
});
