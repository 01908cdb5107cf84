import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { capabilityInterfaces } from '@alga-psa/extension-contracts';
import { generatedTypesDir, renderGuestTypes } from '../src/build/guest-types.ts';
import { hostModuleSource, interfacesForCapabilities, narrowedWit, sourceWitFile, witFile } from '../src/build/world.ts';
import { sampleBundle } from '../../../test-setup/samples.ts';
import { readBundle } from '@alga-psa/extension-contracts';
import { transpileComponent } from '@alga-psa/extension-host/component/transpile-cache';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

describe('wit/ is the one source of truth', () => {
  it("the CLI's WIT copy (sdk/cli/wit, what alga builds against from any directory) equals wit/ (run `npm run gen:wit` after editing wit/)", async () => {
    expect(await readFile(witFile, 'utf8')).toBe(await readFile(sourceWitFile, 'utf8'));
  });

  it('the SDK guest types checked in under sdk/extension-runtime/src/generated match a fresh jco guest-types run (run `npm run gen:wit` after editing wit/)', async () => {
    const expected = await renderGuestTypes();
    const root = fileURLToPath(generatedTypesDir);
    const actualFiles = (await filesUnder(root)).map((f) => relative(root, f)).sort();
    expect(actualFiles).toEqual([...expected.keys()].sort());
    for (const [path, text] of expected) expect(await readFile(join(root, path), 'utf8'), path).toBe(text);
  });

  it('every capability id maps to an interface that wit/ defines', async () => {
    const wit = await readFile(witFile, 'utf8');
    for (const iface of Object.values(capabilityInterfaces)) expect(wit).toMatch(new RegExp(`^interface ${iface} \\{`, 'm'));
  });

  it('the reference world imports all six interfaces and exports handler', async () => {
    const wit = await readFile(witFile, 'utf8');
    const world = /world extension \{([^}]*)\}/.exec(wit)![1];
    for (const iface of ['types', ...Object.values(capabilityInterfaces)]) expect(world).toContain(`import ${iface};`);
    expect(world).toContain('export handler;');
  });
});

describe('narrowed build world', () => {
  it('imports only types, context and log for an extension with no capabilities', async () => {
    const wit = await narrowedWit([]);
    const world = /world build \{([^}]*)\}/.exec(wit)![1];
    expect(world.match(/import [\w-]+;/g)).toEqual(['import types;', 'import context;', 'import log;']);
    expect(wit).not.toMatch(/world extension/);
  });

  it('adds exactly the interfaces of the declared capabilities', () => {
    expect(interfacesForCapabilities(['cap:storage.kv', 'cap:secrets.get'])).toEqual(['context', 'log', 'secrets', 'storage']);
  });

  it('the alga:host module imports only declared interfaces and leaves the rest undefined', () => {
    const src = hostModuleSource(['cap:http.fetch']);
    expect(src).toContain(`import * as http from 'alga:extension/http@0.1.0';`);
    expect(src).toContain('const secrets = undefined;');
    expect(src).toContain('const uiProxy = undefined;');
  });

  it('samples/hello, built with real componentize-js, imports only context and log (no WASI, no other capability)', async () => {
    const { bytes } = await sampleBundle('hello');
    const { component } = await readBundle(bytes);
    const { meta } = await transpileComponent(component);
    expect(meta.imports.sort()).toEqual(['alga:extension/context', 'alga:extension/log']);
    expect(meta.exports).toContain('alga:extension/handler@0.1.0');
  });
});
