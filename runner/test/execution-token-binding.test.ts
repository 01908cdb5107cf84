/**
 * Issue 7: an execution token authorises one execute body, once. A token and secret envelope
 * captured from one gateway→runner request must not run another publisher's component, with
 * other install settings or another envelope, nor run twice. Real runner on loopback with a
 * local secret keyring; tokens minted by the harness exactly as the gateway mints them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeBodyDigest, mintExecutionToken } from '@alga-psa/extension-contracts';
import { startRunnerHarness, decodeBody, type RunnerHarness, type ExecuteInput } from '../../test-setup/runner-harness.ts';
import { createSecretCipher, type SecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';

let h: RunnerHarness;
let dir: string;
let cipher: SecretCipher;
let hello: string;
/** Another publisher's component: reads the secret `token` and says whether it got one. */
let attacker: string;
let victim: ExecuteInput;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alga-binding-'));
  cipher = await createSecretCipher({ backend: 'local', keyringFile: join(dir, 'keyring.json'), createIfMissing: true });
  h = await startRunnerHarness({}, { secretCipher: cipher });
  hello = await h.addSample('hello');
  attacker = await h.addSample('misbehaving');
  const sealed = await cipher.encrypt({ tenantId: 'tenant-a', installId: 'install-1' }, { token: 'victim-secret-value' });
  victim = {
    contentHash: hello, path: '/hello', tenantId: 'tenant-a', installId: 'install-1',
    grantedCapabilities: ['cap:secrets.get', 'cap:http.fetch'], httpAllowedHosts: ['https://api.victim.example'],
    secrets: { secretsVersion: 1, envelope: { token: sealed.token.ciphertext } },
  };
});
afterAll(async () => {
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

function expectAuthError(res: { status: number; body: any }, message: RegExp) {
  expect(res.status).toBe(401);
  expect(res.body.error.code).toBe('E_AUTH');
  expect(res.body.error.message).toMatch(message);
}

/** The victim's captured request, with the attacker's component and hosts in the body. */
function hijacked(body: any) {
  return {
    ...body,
    context: { ...body.context, contentHash: attacker },
    request: { ...body.request, path: '/leak-secret' },
    install: { ...body.install, httpAllowedHosts: ['https://attacker.example'] },
  };
}

describe('an execution token binds the component, install and secrets of its body', () => {
  it('the reproduction: a captured token and envelope sent twice with another contentHash and httpAllowedHosts get 401 E_AUTH both times', async () => {
    const { token, body } = await h.prepare(victim);
    const forged = hijacked(body);
    for (let i = 0; i < 2; i++) expectAuthError(await h.post(token, forged), /another component or version/);
    // The same body, authorised by its own token, would have read the victim's secret: the
    // refusal above is the binding, not a broken setup.
    const control = { ...forged, context: { ...forged.context, requestId: `${forged.context.requestId}-control` } };
    const controlToken = await mintExecutionToken(h.signer, {
      ...control.context, bodyDigest: executeBodyDigest({ install: control.install, secrets: control.secrets }), capabilities: victim.grantedCapabilities!,
    }, control.limits.deadlineMs);
    const leaked = await h.post(controlToken, control);
    expect(leaked.status).toBe(200);
    expect(decodeBody(leaked.body)).toEqual({ logged: true });
  });

  it('a token replayed with another contentHash alone gets 401 E_AUTH', async () => {
    const { token, body } = await h.prepare(victim);
    expectAuthError(await h.post(token, { ...body, context: { ...body.context, contentHash: attacker } }), /another component or version/);
  });

  it('a token replayed with another versionId gets 401 E_AUTH', async () => {
    const { token, body } = await h.prepare(victim);
    expectAuthError(await h.post(token, { ...body, context: { ...body.context, versionId: 'v2' } }), /another component or version/);
  });

  it('a token replayed with changed httpAllowedHosts gets 401 E_AUTH', async () => {
    const { token, body } = await h.prepare(victim);
    const widened = { ...body, install: { ...body.install, httpAllowedHosts: ['https://attacker.example'] } };
    expectAuthError(await h.post(token, widened), /another install config or secret envelope/);
  });

  it('a token replayed with a changed secrets envelope gets 401 E_AUTH', async () => {
    const { token, body } = await h.prepare(victim);
    const other = await cipher.encrypt({ tenantId: 'tenant-a', installId: 'install-1' }, { token: 'attacker-chosen' });
    const swapped = { ...body, secrets: { ...body.secrets, envelope: { token: other.token.ciphertext } } };
    expectAuthError(await h.post(token, swapped), /another install config or secret envelope/);
  });

  it('a token replayed with another config value or granted capability gets 401 E_AUTH', async () => {
    const { token, body } = await h.prepare({ ...victim, config: { greeting: 'Hi' } });
    expectAuthError(await h.post(token, { ...body, install: { ...body.install, config: { greeting: 'Pwned' } } }), /another install config/);
    expectAuthError(await h.post(token, { ...body, install: { ...body.install, grantedCapabilities: [...body.install.grantedCapabilities, 'cap:storage.kv'] } }), /another install config/);
  });

  it('the digest covers the sections as sent, before defaults: a token for a sparse body runs it (200), not the same body with the defaults spelled out (401 E_AUTH)', async () => {
    const { body } = await h.prepare(victim);
    const { httpAllowedHosts: _h, uiProxyRoutes: _u, storageNamespaces: _s, ...install } = body.install;
    const sparse = { context: body.context, request: body.request, install, limits: body.limits };
    const token = await mintExecutionToken(h.signer, {
      ...sparse.context, bodyDigest: executeBodyDigest({ install: sparse.install }), capabilities: victim.grantedCapabilities!,
    }, sparse.limits.deadlineMs);
    const spelledOut = { ...sparse, install: { ...install, httpAllowedHosts: [], uiProxyRoutes: [], storageNamespaces: null }, secrets: { secretsVersion: 0, envelope: {} } };
    expectAuthError(await h.post(token, spelledOut), /another install config or secret envelope/);
    expect((await h.post(token, sparse)).status).toBe(200);
  });
});

describe('each execution token runs once', () => {
  it('the same token and body sent twice: the first gets 200, the second 401 E_AUTH "already used"', async () => {
    const { token, body } = await h.prepare(victim);
    expect((await h.post(token, body)).status).toBe(200);
    expectAuthError(await h.post(token, body), /already used/);
  });

  it('concurrent copies of one token: exactly one runs, the others get 401 E_AUTH', async () => {
    const { token, body } = await h.prepare(victim);
    const answers = await Promise.all(Array.from({ length: 5 }, () => h.post(token, body)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) expectAuthError(a, /already used/);
  });

  it('a token refused for a mismatched body is not used up: the genuine body still runs (200)', async () => {
    const { token, body } = await h.prepare(victim);
    expectAuthError(await h.post(token, hijacked(body)), /another component/);
    expect((await h.post(token, body)).status).toBe(200);
  });
});
