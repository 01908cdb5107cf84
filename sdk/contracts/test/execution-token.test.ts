import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignJWT, importJWK, jwtVerify } from 'jose';
import { canonicalJson, executeBodyDigest, executionTokenVerifier, generateExecutionSigningKey, importExecutionSigningKey, mintExecutionToken } from '../src/execution-token.ts';

const sections = {
  install: { config: { greeting: 'Hi', nested: { b: 1, a: [1, 'x', null] } }, configVersion: 3, grantedCapabilities: ['cap:secrets.get'], httpAllowedHosts: ['https://api.example.com'], storageNamespaces: null, uiProxyRoutes: [] },
  secrets: { secretsVersion: 2, envelope: { apiToken: 'local:v1:k1:bm9uY2U:Y3Q' } },
};
const claims = {
  requestId: 'req-1', tenantId: 't1', installId: 'i1', extensionId: 'e1', versionId: 'v1', contentHash: 'ab'.repeat(32),
  bodyDigest: executeBodyDigest(sections), capabilities: ['cap:storage.kv'],
};
/** The payload a real token carries, for tokens built by hand. */
const payload = { sub: 'r', tid: 't', iid: 'i', eid: 'e', caps: [], vid: 'v1', chash: 'ab'.repeat(32), bdg: claims.bodyDigest, jti: 'j1', aud: 'alga-runner', iss: 'alga-gateway', exp: 9e9, iat: 1 };
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

  it('every token gets its own random token id (jti), returned as tokenId', async () => {
    const { key, verify } = await setup();
    const a = await verify(await mintExecutionToken(key, claims, Date.now() + 5000));
    const b = await verify(await mintExecutionToken(key, claims, Date.now() + 5000));
    expect(a.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.tokenId).not.toBe(b.tokenId);
  });

  it('minted tokens are standard JWTs: jose verifies them with the public JWK', async () => {
    const { key } = await setup();
    const token = await mintExecutionToken(key, claims, Date.now() + 30_000);
    const { payload, protectedHeader } = await jwtVerify(token, await importJWK(key.publicJwk, 'EdDSA'), { audience: 'alga-runner', issuer: 'alga-gateway' });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: 'k1', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: 'req-1', tid: 't1', iid: 'i1', eid: 'e1', caps: ['cap:storage.kv'], vid: 'v1', chash: 'ab'.repeat(32), bdg: claims.bodyDigest });
    expect(typeof payload.jti).toBe('string');
  });

  it('a key re-imported from its private JWK verifies against the same public key (gateway restart)', async () => {
    const { key, verify } = await setup();
    const again = await importExecutionSigningKey(key.privateJwk);
    expect((await verify(await mintExecutionToken(again, claims, Date.now() + 5000))).tenantId).toBe('t1');
  });

  it('rejects alg "none" (unsigned) tokens', async () => {
    const { verify } = await setup();
    const token = `${b64({ alg: 'none', kid: 'k1' })}.${b64(payload)}.`;
    await rejects(verify(token));
  });

  it('rejects an HS256 token "signed" with the public key as the HMAC secret (algorithm confusion)', async () => {
    const { key, verify } = await setup();
    const head = b64({ alg: 'HS256', kid: 'k1' });
    const body = b64(payload);
    const sig = createHmac('sha256', String(key.publicJwk.x)).update(`${head}.${body}`).digest('base64url');
    await rejects(verify(`${head}.${body}.${sig}`));
  });

  it('rejects a token whose payload was changed after signing (another tenant)', async () => {
    const { key, verify } = await setup();
    const [h, , s] = (await mintExecutionToken(key, claims, Date.now() + 5000)).split('.');
    const forged = b64({ ...payload, tid: 'OTHER' });
    await rejects(verify(`${h}.${forged}.${s}`));
  });

  it('rejects a token for another audience or issuer', async () => {
    const { key, verify } = await setup();
    const base = () => new SignJWT({ tid: 't', iid: 'i', eid: 'e', caps: [], vid: 'v1', chash: 'ab'.repeat(32), bdg: claims.bodyDigest, jti: 'j1' }).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setSubject('r').setIssuedAt().setExpirationTime('1m');
    await rejects(verify(await base().setAudience('someone-else').setIssuer('alga-gateway').sign(key.privateKey)));
    await rejects(verify(await base().setAudience('alga-runner').setIssuer('evil').sign(key.privateKey)));
  });

  it('rejects a token missing a required claim (caps)', async () => {
    const { key, verify } = await setup();
    const token = await new SignJWT({ tid: 't', iid: 'i', eid: 'e', vid: 'v1', chash: 'ab'.repeat(32), bdg: claims.bodyDigest, jti: 'j1' }).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setSubject('r')
      .setAudience('alga-runner').setIssuer('alga-gateway').setIssuedAt().setExpirationTime('1m').sign(key.privateKey);
    await rejects(verify(token));
  });

  it('rejects with E_AUTH a correctly signed token missing chash, vid, bdg or jti (a token of the old shape)', async () => {
    const { key, verify } = await setup();
    const signed = (extra: Record<string, unknown>) => new SignJWT({ tid: 't', iid: 'i', eid: 'e', caps: [], ...extra }).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setSubject('r').setAudience('alga-runner').setIssuer('alga-gateway').setIssuedAt().setExpirationTime('1m').sign(key.privateKey);
    const complete = { vid: 'v1', chash: 'ab'.repeat(32), bdg: claims.bodyDigest, jti: 'j1' };
    expect((await verify(await signed(complete))).tokenId).toBe('j1');
    for (const missing of Object.keys(complete)) {
      const { [missing]: _gone, ...rest } = complete as Record<string, unknown>;
      await rejects(verify(await signed(rest)));
    }
    await rejects(verify(await signed({ ...complete, bdg: 'not-a-sha256' })));
    await rejects(verify(await signed({ ...complete, jti: '' })));
    await rejects(verify(await signed({ ...complete, jti: 'x'.repeat(129) })));
    await rejects(verify(await signed({ ...complete, vid: 7 })));
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

describe('execute body digest', () => {
  it('is the same for the same sections whatever the key order, at every depth', () => {
    const reordered = {
      secrets: { envelope: { apiToken: sections.secrets.envelope.apiToken }, secretsVersion: 2 },
      install: { uiProxyRoutes: [], storageNamespaces: null, httpAllowedHosts: ['https://api.example.com'], grantedCapabilities: ['cap:secrets.get'], configVersion: 3, config: { nested: { a: [1, 'x', null], b: 1 }, greeting: 'Hi' } },
    };
    expect(executeBodyDigest(reordered)).toBe(executeBodyDigest(sections));
    expect(executeBodyDigest(sections)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('equals the digest of the same sections after a JSON round trip (gateway object vs runner parse), undefined dropped', () => {
    const withUndefined = { ...sections, install: { ...sections.install, config: { ...sections.install.config, absent: undefined } } };
    expect(executeBodyDigest(JSON.parse(JSON.stringify(withUndefined)))).toBe(executeBodyDigest(withUndefined));
    expect(executeBodyDigest(withUndefined)).toBe(executeBodyDigest(sections));
    expect(canonicalJson({ b: [undefined, 1], a: undefined, c: Number.NaN })).toBe('{"b":[null,1],"c":null}');
  });

  it('changes when any value changes: another host, envelope, config value, version, capability, array order', () => {
    const base = executeBodyDigest(sections);
    const variants = [
      { ...sections, install: { ...sections.install, httpAllowedHosts: ['https://attacker.example'] } },
      { ...sections, secrets: { ...sections.secrets, envelope: { apiToken: 'local:v1:k1:bm9uY2U:OTHER' } } },
      { ...sections, secrets: { ...sections.secrets, secretsVersion: 3 } },
      { ...sections, install: { ...sections.install, config: { ...sections.install.config, greeting: 'Hi!' } } },
      { ...sections, install: { ...sections.install, config: { ...sections.install.config, nested: { b: 1, a: [1, 'x', 0] } } } },
      { ...sections, install: { ...sections.install, configVersion: 4 } },
      { ...sections, install: { ...sections.install, grantedCapabilities: ['cap:secrets.get', 'cap:http.fetch'] } },
      { ...sections, install: { ...sections.install, storageNamespaces: [] } },
      { ...sections, install: { ...sections.install, config: { ...sections.install.config, nested: { b: 1, a: ['x', 1, null] } } } },
      { install: sections.install },
    ];
    const digests = variants.map((v) => executeBodyDigest(v));
    for (const d of digests) expect(d).not.toBe(base);
    expect(new Set(digests).size).toBe(variants.length);
  });
});
