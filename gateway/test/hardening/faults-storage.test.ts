/**
 * Hardening: the disks. The bundle store's volume full (a real tmpfs of a few KB mounted over
 * it: root only, skipped with the reason otherwise): publish answers 507 E_STORE_FULL, nothing
 * half-written stays behind, no registry row names the bundle, and once there is room the same
 * publish works. A corrupt transpile-cache entry (a flipped byte in the runner's cached core
 * module): the restarted runner detects it, rebuilds the entry and serves the request.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { restartableExternalRunner } from '../../../test-setup/external-runner.ts';
import { sampleBundle } from '../../../test-setup/samples.ts';
import { echoThrough, report, round } from './support.ts';

const FILE = 'faults-storage';
const run = promisify(execFile);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function canMountTmpfs(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const probe = await mkdtemp(join(tmpdir(), 'alga-tmpfs-probe-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
    await run('umount', [probe]);
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const mountable = await canMountTmpfs();

describe('hardening: the bundle store runs out of disk', () => {
  let h: GatewayHarness;
  let bundles: string;
  beforeAll(async () => {
    h = await startGatewayHarness({ runner: { workers: 1 } as never });
    bundles = join(h.dir, 'bundles');
  });
  afterAll(async () => {
    await run('umount', [bundles]).catch(() => undefined);
    await h?.close();
  });

  it.skipIf(!mountable)('publish answers 507 E_STORE_FULL with nothing half-written or registered, and works once there is room (a real full tmpfs)', async () => {
    await mkdir(bundles, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', bundles]);
    const build = await sampleBundle('hello');
    expect(build.bytes.byteLength).toBeGreaterThan(64 * 1024);

    const started = performance.now();
    const full = await h.publish(build.bytes);
    const refusedInMs = performance.now() - started;
    const body = await full.json();
    expect(full.status).toBe(507);
    expect(body.error.code).toBe('E_STORE_FULL');
    expect(body.error.message).toMatch(/out of space: nothing was stored; free or grow its volume, then publish again/);
    expect(await filesUnder(bundles)).toEqual([]);
    expect(await h.db.knex('extension_bundle').where({ content_hash: sha(build.bytes) }).first()).toBeUndefined();
    expect(await h.db.knex('extension_registry').where({ name: 'com.alga.samples.hello' }).first()).toBeUndefined();
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);

    // Room again: the same bundle publishes and serves.
    await run('umount', [bundles]);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', bundles]);
    const ok = await h.publish(build.bytes);
    expect(ok.status, await ok.clone().text()).toBe(201);
    const t = await h.tenant();
    await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
    expect((await echoThrough(h, { adminKey: t.adminKey, greeting: 'Hello' }, 'after-disk-full')).ok).toBe(true);
    report(FILE, 'bundle store full', { status: full.status, code: body.error.code, refusedInMs: round(refusedInMs), filesLeft: 0, rowsLeft: 0, publishAfterRoom: ok.status });
  });
});

describe('hardening: a corrupt transpile-cache entry', () => {
  let h: GatewayHarness;
  let cacheDir: string;
  let runner: ReturnType<typeof restartableExternalRunner>;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'alga-runner-cache-'));
    runner = restartableExternalRunner({ env: { RUNNER_CACHE_DIR: cacheDir, LOG_LEVEL: 'info' } });
    h = await startGatewayHarness({ externalRunner: runner.externalRunner });
  });
  afterAll(async () => {
    await h?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('is detected by the restarted runner, rebuilt, and the request is served', async () => {
    const { contentHash } = await h.publishSample('hello');
    const t = await h.tenant();
    await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
    const tenant = { adminKey: t.adminKey, greeting: 'Hello' };
    expect((await echoThrough(h, tenant, 'before')).ok).toBe(true);

    // The runner's entry for this component: flip a byte in its biggest core module.
    const [entry] = (await readdir(cacheDir)).filter((d) => d.startsWith(`${contentHash}-`) && !d.endsWith('.tmp'));
    expect(entry).toBeDefined();
    const meta = JSON.parse(await readFile(join(cacheDir, entry, 'meta.json'), 'utf8')) as { coreFiles: string[]; files: Record<string, string> };
    const core = join(cacheDir, entry, meta.coreFiles[0]);
    const bytes = await readFile(core);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(core, bytes);
    expect(sha(bytes)).not.toBe(meta.files[meta.coreFiles[0]]);

    await runner.kill();
    await runner.restart();
    const started = performance.now();
    const after = await echoThrough(h, tenant, 'after');
    const firstRequestMs = performance.now() - started;
    expect(after).toMatchObject({ ok: true, status: 200 });
    // Rebuilt: the file holds what its checksum says again.
    expect(sha(await readFile(core))).toBe(meta.files[meta.coreFiles[0]]);
    report(FILE, 'corrupt transpile-cache entry', { detected: true, rebuilt: true, firstRequestAfterRestartMs: round(firstRequestMs) });
  });
});
