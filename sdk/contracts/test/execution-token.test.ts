import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignJWT, importJWK, jwtVerify } from 'jose';
import { executionTokenVerifier, generateExecutionSigningKey, importExecutionSigningKey, mintExecutionToken } from '../src/execution-token.ts';

const claims = { requestId: 'req-1', tenantId: 't1', installId: 'i1', extensionId: 'e1', capabilities: ['cap:storage.kv'] };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function setup() {
  const key = await generateExecutionSigningKey('k1');
  return { key, verify: executionTokenVerifier({ keys: [key.publicJwk] }) };
}

async function rejects(promise: Promise<unknown>, message = /invalid/) {
  await expect(promise).rejects.toMatchObject({ code: 'E_AUTH', message: expect.stringMatching(message) });
}

describe('execution tokens', () => {
  it('round-trips the claims and the deadline as expiry', async () => {
    const { key, verify } = await setup();
    const deadline = Date.now() + 30_000;
    const out = await verify(await mintExecutionToken(key, claims, deadline));
    expect(out).toMatchObject(claims);
    expect(out.expiresAtMs).toBe(Math.ceil(deadline / 1000) * 1000);
  });

  it('minted tokens are standard JWTs: jose verifies them with the public JWK', async () => {
    const { key } = await setup();
    const token = await mintExecutionToken(key, claims, Date.now() + 30_000);
    const { payload, protectedHeader } = await jwtVerify(token, await importJWK(key.publicJwk, 'EdDSA'), { audience: 'alga-runner', issuer: 'alga-gateway' });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: 'k1', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: 'req-1', tid: 't1', iid: 'i1', eid: 'e1', caps: ['cap:storage.kv'] });
  });

  it('a key re-imported from its private JWK verifies against the same public key (gateway restart)', async () => {
    const { key, verify } = await setup();
    const again = await importExecutionSigningKey(key.privateJwk);
    expect((await verify(await mintExecutionToken(again, claims, Date.now() + 5000))).tenantId).toBe('t1');
  });

  it('rejects alg "none" (unsigned) tokens', async () => {
    const { verify } = await setup();
    const token = `${b64({ alg: 'none', kid: 'k1' })}.${b64({ sub: 'r', tid: 't', iid: 'i', eid: 'e', caps: [], aud: 'alga-runner', iss: 'alga-gateway', exp: 9e9, iat: 1 })}.`;
    await rejects(verify(token));
  });

  it('rejects an HS256 token "signed" with the public key as the HMAC secret (algorithm confusion)', async () => {
    const { key, verify } = await setup();
    const head = b64({ alg: 'HS256', kid: 'k1' });
    const body = b64({ sub: 'r', tid: 't', iid: 'i', eid: 'e', caps: [], aud: 'alga-runner', iss: 'alga-gateway', exp: 9e9, iat: 1 });
    const sig = createHmac('sha256', String(key.publicJwk.x)).update(`${head}.${body}`).digest('base64url');
    await rejects(verify(`${head}.${body}.${sig}`));
  });

  it('rejects a token whose payload was changed after signing (another tenant)', async () => {
    const { key, verify } = await setup();
    const [h, , s] = (await mintExecutionToken(key, claims, Date.now() + 5000)).split('.');
    const forged = b64({ sub: 'req-1', tid: 'OTHER', iid: 'i1', eid: 'e1', caps: ['cap:storage.kv'], aud: 'alga-runner', iss: 'alga-gateway', exp: 9e9, iat: 1 });
    await rejects(verify(`${h}.${forged}.${s}`));
  });

  it('rejects a token for another audience or issuer', async () => {
    const { key, verify } = await setup();
    const base = () => new SignJWT({ tid: 't', iid: 'i', eid: 'e', caps: [] }).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setSubject('r').setIssuedAt().setExpirationTime('1m');
    await rejects(verify(await base().setAudience('someone-else').setIssuer('alga-gateway').sign(key.privateKey)));
    await rejects(verify(await base().setAudience('alga-runner').setIssuer('evil').sign(key.privateKey)));
  });

  it('rejects a token missing a required claim (caps)', async () => {
    const { key, verify } = await setup();
    const token = await new SignJWT({ tid: 't', iid: 'i', eid: 'e' }).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setSubject('r')
      .setAudience('alga-runner').setIssuer('alga-gateway').setIssuedAt().setExpirationTime('1m').sign(key.privateKey);
    await rejects(verify(token));
  });

  it('rejects an unknown kid and says "expired" for an expired token', async () => {
    const { verify } = await setup();
    const other = await generateExecutionSigningKey('k2');
    await rejects(verify(await mintExecutionToken(other, claims, Date.now() + 5000)));
    const { key, verify: v2 } = await setup();
    await rejects(v2(await mintExecutionToken(key, claims, Date.now() - 10_000)), /expired/);
  });

  it('refuses to trust a key that is not Ed25519', async () => {
    expect(() => executionTokenVerifier({ keys: [{ kty: 'RSA', kid: 'r', n: 'x', e: 'AQAB' }] })).toThrow(/not an Ed25519/);
  });
});
