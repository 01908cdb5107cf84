/**
 * The `alga` command as a developer runs it: a real process (bin/alga.mjs), a project scaffolded
 * OUTSIDE the repository with no npm install, real componentize-js, and a real gateway to
 * publish to.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundle, verifyBundleSignature } from '@alga-psa/extension-contracts';
import { operatorCaller, startGatewayHarness, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { alga } from './support/alga-process.ts';

let work: string;
let project: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'alga-cli-'));
  project = join(work, 'greeter');
}, 30_000);
afterAll(() => rm(work, { recursive: true, force: true }));

describe('alga (the command)', () => {
  it('--version prints the CLI, WIT package and toolchain versions; --help lists the commands', async () => {
    const v = await alga(['--version', '--json'], work);
    expect(v.code).toBe(0);
    expect(v.json).toMatchObject({ ok: true, wit: 'alga:extension@0.1.0', componentizeJs: '0.23.0', jco: '1.35.0' });
    const help = await alga(['component', '--help'], work);
    for (const command of ['new', 'build', 'dev', 'test', 'pack', 'sign', 'publish']) expect(help.stdout).toContain(command);
  });

  it('fails with an E_* code and what to do next, in words and in --json', async () => {
    const human = await alga(['component', 'build'], work);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('error E_NO_MANIFEST');
    expect(human.stderr).toContain('→ run this inside an extension project');
    const machine = await alga(['component', 'build', '--json'], work);
    expect(machine.json).toMatchObject({ ok: false, error: { code: 'E_NO_MANIFEST' } });
    expect((await alga(['component', 'new', join(work, 'x'), '--template', 'nope'], work)).stderr).toContain('component-basic');
  });

  it('new scaffolds outside the repo; build type-checks, bundles and componentizes with no npm install', async () => {
    const created = await alga(['component', 'new', project, '--name', 'com.acme.greeter', '--publisher', 'Alga Samples', '--json'], work);
    expect(created.json).toMatchObject({ ok: true, name: 'com.acme.greeter' });
    for (const file of ['manifest.json', 'src/index.ts', 'tsconfig.json', 'README.md', '.gitignore', '.alga/tsconfig.base.json', '.alga/types/config.d.ts']) {
      expect((await stat(join(project, file))).isFile(), file).toBe(true);
    }
    expect(await readFile(join(project, '.alga/types/config.d.ts'), 'utf8')).toContain('"greeting": string;');
    const built = await alga(['component', 'build', '--json'], project);
    expect(built.code, built.stderr).toBe(0);
    expect(built.json.builds[0]).toMatchObject({ name: 'com.acme.greeter', fromCache: false });
    expect(built.json.builds[0].imports).toContain('alga:extension/storage@0.1.0');
    for (const phase of ['typecheck', 'bundle', 'componentize']) expect(built.stderr).toMatch(new RegExp(`com.acme.greeter: ${phase} [\\d.]+ s`));
    const map = JSON.parse(await readFile(join(project, 'dist/component.js.map'), 'utf8'));
    expect(map.sources).toContain('src/index.ts');
    // No temp directory or path of this machine: the SDK by its package name, the host module as alga:host.
    expect(map.sources).toContain('node_modules/@alga-psa/extension-runtime/src/router.ts');
    expect(map.sources.filter((s: string) => s.startsWith('..') || s.startsWith('/'))).toEqual([]);
    const again = await alga(['component', 'build', '--json'], project);
    expect(again.json.builds[0].fromCache).toBe(true);
  }, 180_000);

  it('config is typed from the manifest: a wrong use is a type error at file:line:col with a code frame', async () => {
    const source = join(project, 'src/index.ts');
    const original = await readFile(source, 'utf8');
    try {
      await writeFile(source, original.replace('const greeting = `${ctx.config.greeting}', 'const n: number = ctx.config.greeting;\n    const greeting = `${n}'));
      const res = await alga(['component', 'build'], project);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('error E_TYPECHECK_FAILED');
      expect(res.stderr).toMatch(/src\/index\.ts:\d+:\d+ - error TS2322: Type 'string' is not assignable to type 'number'/);
      expect(res.stderr).toContain('const n: number = ctx.config.greeting;');
      await writeFile(source, `${original}\nconst broken = ;\n`);
      const syntax = await alga(['component', 'build', '--no-typecheck'], project);
      expect(syntax.stderr).toContain('error E_BUNDLE_FAILED');
      expect(syntax.stderr).toContain('[ERROR] Unexpected ";"');
      expect(syntax.stderr).toMatch(/src\/index\.ts:\d+:\d+:/);
      expect(syntax.stderr).toContain('const broken = ;');
    } finally {
      await writeFile(source, original);
    }
  }, 60_000);

  it('component-with-ui: the UI is bundled into dist/ui, and UI and handler are checked against one contract', async () => {
    const dir = join(work, 'notes');
    expect((await alga(['component', 'new', dir, '--template', 'component-with-ui', '--json'], work)).code).toBe(0);
    const ui = join(dir, 'ui/main.ts');
    const original = await readFile(ui, 'utf8');
    await writeFile(ui, original.replace("api.call('POST /notes', { body: { text } })", "api.call('POST /notes', { body: { txt: text } })"));
    const mismatch = await alga(['component', 'build'], dir);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/ui\/main\.ts:\d+:\d+ - error TS\d+/);
    expect(mismatch.stderr).toContain('txt');
    await writeFile(ui, original);
    const built = await alga(['component', 'build', '--json'], dir);
    expect(built.code, built.stderr).toBe(0);
    const bundle = await readFile(join(dir, 'dist/ui/main.js'), 'utf8');
    expect(bundle).not.toContain('import ');
    expect((await stat(join(dir, 'dist/ui/index.html'))).isFile()).toBe(true);
    await expect(stat(join(dir, 'dist/ui/main.ts'))).rejects.toThrow();
  }, 180_000);

  describe('pack, keys, sign, publish', () => {
    let h: GatewayHarness;
    beforeAll(async () => { h = await startGatewayHarness(); }, 180_000);
    afterAll(() => h?.close());

    it('pack writes the bundle publish accepts; keys generate writes a 0600 key; sign signs it', async () => {
      const packed = await alga(['component', 'pack', '--json'], project);
      expect(packed.code, packed.stderr).toBe(0);
      expect(packed.json.bundle).toBe(join(project, 'dist/com.acme.greeter-0.1.0.tar.gz'));
      const bytes = new Uint8Array(await readFile(packed.json.bundle));
      const contents = await readBundle(bytes, {}, { sourceMap: true });
      expect((contents.manifestJson as { name: string }).name).toBe('com.acme.greeter');
      // The build's source map travels in the bundle (the gateway maps guest stacks with it).
      expect(new TextDecoder().decode(contents.sourceMap)).toBe(await readFile(join(project, 'dist/component.js.map'), 'utf8'));
      const keys = await alga(['keys', 'generate', '--out', join(work, 'keys'), '--json'], work);
      expect((await stat(keys.json.privateKeyFile)).mode & 0o777).toBe(0o600);
      expect((await alga(['keys', 'generate', '--out', join(work, 'keys')], work)).stderr).toContain('E_EXISTS');
      const signed = await alga(['component', 'sign', packed.json.bundle, '--key', keys.json.privateKeyFile, '--json'], project);
      expect(verifyBundleSignature(bytes, keys.json.publicKey, signed.json.signature)).toBe(true);
    }, 60_000);

    it('publish uploads and installs; republishing the same version says to bump it', async () => {
      const keys = JSON.parse((await alga(['keys', 'generate', '--out', join(work, 'pub'), '--json'], work)).stdout);
      const publisherId = (await h.db.knex('publisher').where({ name: 'Alga Samples' }).first('id')).id;
      expect((await operatorCaller(h)('POST', `/api/v1/registry/publishers/${publisherId}/keys`, { kid: 'cli-test', publicKey: keys.publicKey })).status).toBe(201);
      const tenant = await h.tenant();
      const common = ['--gateway', h.url, '--key-id', 'cli-test', '--key', keys.privateKeyFile];
      const published = await alga(['component', 'publish', ...common, '--install', '--api-key', tenant.adminKey, '--json'], project);
      expect(published.code, published.stderr + published.stdout).toBe(0);
      expect(published.json.install).toMatchObject({ extensionName: 'com.acme.greeter', version: '0.1.0' });
      const hello = await tenant.call('GET', '/api/ext/com.acme.greeter/hello');
      expect(hello.body).toEqual({ greeting: 'Hello' });
      const again = await alga(['component', 'publish', ...common], project);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('E_VERSION_EXISTS');
      expect(again.stderr).toContain('bump "version" in manifest.json');
      const wrongKey = await alga(['component', 'publish', '--gateway', h.url, '--key-id', 'nobody', '--key', keys.privateKeyFile], project);
      expect(wrongKey.stderr).toContain('E_AUTH');
      const down = await alga(['component', 'publish', '--gateway', 'http://127.0.0.1:9', '--key-id', 'cli-test', '--key', keys.privateKeyFile], project);
      expect(down.stderr).toContain('E_GATEWAY_UNREACHABLE');
    }, 120_000);
  });
});
