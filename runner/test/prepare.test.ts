/**
 * `POST /v1/prepare`: the gateway's call after a publish. A prepare token (the gateway's execution
 * keys, another audience) names one component; the runner compiles it, runs a warm-up call on a
 * throwaway instance and has every worker hold never-used instances, so the first request of the
 * new version finds one ready.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeBodyDigest, generateExecutionSigningKey, mintExecutionToken, mintPrepareToken } from '@alga-psa/extension-contracts';
import { startRunnerHarness, type RunnerHarness } from '../../test-setup/runner-harness.ts';

let h: RunnerHarness;
let hello: string;
let misbehaving: string;

beforeAll(async () => {
  h = await startRunnerHarness({ workers: 2 });
  hello = await h.addSample('hello');
  misbehaving = await h.addSample('misbehaving');
});
afterAll(() => h?.close());

async function prepare(token: string | null, body: unknown = {}) {
  const res = await fetch(`${h.url}/v1/prepare`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as any };
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('POST /v1/prepare', () => {
  it('compiles the component, warms it up and leaves a never-used instance ready on every worker: the first request finds one', async () => {
    const res = await prepare(mintPrepareToken(h.signer, hello), { contentHash: hello });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ contentHash: hello, readyInstances: 2 });
    expect(res.body.warmUpMs).toBeGreaterThan(0);
    const missesBefore = await metric('alga_runner_instance_cache_total', 'result="miss"');
    const first = await h.execute({ contentHash: hello, path: '/hello', installId: 'prepared-install', config: { greeting: 'Hi' } });
    expect(first.status).toBe(200);
    expect(JSON.parse(Buffer.from(first.body.bodyB64, 'base64').toString())).toMatchObject({ greeting: 'Hi', requestId: expect.any(String) });
    expect(await metric('alga_runner_instance_cache_total', 'result="miss"')).toBe(missesBefore);
  });

  it('no install ever gets the warm-up instance: after prepare, a new install\'s module state starts at zero', async () => {
    expect((await prepare(mintPrepareToken(h.signer, misbehaving))).status).toBe(200);
    const calls = JSON.parse(Buffer.from((await h.execute({ contentHash: misbehaving, path: '/counter', installId: 'after-prepare' })).body.bodyB64, 'base64').toString()).calls;
    expect(calls).toBe(1);
  });

  it('is idempotent: preparing again answers 200 and keeps the reserve bounded (one per worker)', async () => {
    const again = await prepare(mintPrepareToken(h.signer, hello));
    expect(again.status).toBe(200);
    expect(again.body.loadMs).toBeLessThan(50);
    expect(again.body.readyInstances).toBe(2);
  });

  it('without a token, 401 E_AUTH', async () => {
    const res = await prepare(null);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('E_AUTH');
  });

  it('an execution token is not a prepare token, and a prepare token is not an execution token (401 E_AUTH both ways)', async () => {
    const exec = await mintExecutionToken(h.signer, {
      requestId: 'r', tenantId: 't', installId: 'i', extensionId: 'e', versionId: 'v', contentHash: hello, bodyDigest: executeBodyDigest({}), capabilities: [],
    }, Date.now() + 60_000);
    expect((await prepare(exec)).body.error.code).toBe('E_AUTH');
    const asExecute = await h.execute({ contentHash: hello, path: '/hello', token: mintPrepareToken(h.signer, hello) });
    expect(asExecute.status).toBe(401);
    expect(asExecute.body.error.code).toBe('E_AUTH');
  });

  it('a token for one component cannot prepare another (401 E_AUTH), nor can a key the runner does not trust', async () => {
    const other = await prepare(mintPrepareToken(h.signer, hello), { contentHash: misbehaving });
    expect(other.status).toBe(401);
    expect(other.body.error.message).toMatch(/another component/);
    const stranger = await generateExecutionSigningKey(h.signer.kid);
    expect((await prepare(mintPrepareToken(stranger, hello))).status).toBe(401);
  });

  it('a component the store does not hold gets 404 E_BUNDLE_NOT_FOUND', async () => {
    const res = await prepare(mintPrepareToken(h.signer, 'f'.repeat(64)));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('E_BUNDLE_NOT_FOUND');
  });
});
