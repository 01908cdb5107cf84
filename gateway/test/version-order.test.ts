import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSemver } from '../src/registry/registry-service.ts';
import { latestVersion } from '../src/registry/version-order.ts';
import { startGatewayHarness, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../test-setup/bundles.ts';

describe('compareSemver', () => {
  it('orders by semver.org precedence: numeric prerelease identifiers as numbers (1.0.0-beta.2 < 1.0.0-beta.10)', () => {
    const shuffled = ['1.10.0', '1.0.0-beta.10', '1.0.0', '1.0.0-rc.1', '0.9.0', '1.0.0-beta.2', '2.0.0', '1.0.0-alpha', '1.2.0', '1.0.0-beta', '1.0.0-alpha.beta'];
    expect([...shuffled].sort(compareSemver)).toEqual([
      '0.9.0', '1.0.0-alpha', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.10', '1.0.0-rc.1', '1.0.0', '1.2.0', '1.10.0', '2.0.0',
    ]);
    expect(compareSemver('1.0.0-beta.10', '1.0.0-beta.2')).toBeGreaterThan(0);
  });

  it('never lets build metadata decide order', () => {
    expect(compareSemver('1.0.0+b', '1.0.0+a')).toBe(0);
    expect(compareSemver('1.0.0+zzz', '1.0.1+aaa')).toBeLessThan(0);
    // A '-' inside build metadata does not make a prerelease.
    expect(compareSemver('1.0.0+build-5', '1.0.0')).toBe(0);
    expect(compareSemver('1.0.0-rc.1+build.9', '1.0.0+build.1')).toBeLessThan(0);
  });

  it('sorts a version semver cannot parse (a number past 2^53) below valid ones instead of throwing', () => {
    expect(compareSemver('1.0.99999999999999999', '0.0.1')).toBeLessThan(0);
    expect(compareSemver('0.0.1', '1.0.99999999999999999')).toBeGreaterThan(0);
  });
});

describe('latestVersion', () => {
  const pick = (versions: string[]) => latestVersion(versions, (v) => v);

  it('picks the newest release, even when its build metadata has a "-"', () => {
    expect(pick(['1.0.0', '1.0.1+build-5', '1.1.0-beta.1'])).toBe('1.0.1+build-5');
    expect(pick(['1.0.0-beta.10', '0.9.0', '1.0.0-beta.2'])).toBe('0.9.0');
  });

  it('picks the newest prerelease when nothing else is published', () => {
    expect(pick(['1.0.0-beta.2', '1.0.0-beta.10', '1.0.0-alpha'])).toBe('1.0.0-beta.10');
    expect(pick([])).toBeUndefined();
  });
});

describe('registry listing and installs use semver precedence', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startGatewayHarness({ runner: false });
    for (const version of ['1.0.0-beta.2', '1.0.0-beta.10', '0.9.0+build-7', '0.9.0-rc.1']) {
      const res = await h.publish(await helloVariant({ name: 'com.acme.semver', version }));
      if (res.status !== 201) throw new Error(`publishing ${version}: ${res.status} ${await res.text()}`);
    }
  });
  afterAll(() => h?.close());

  it('lists versions newest first (1.0.0-beta.10 before 1.0.0-beta.2)', async () => {
    const t = await h.tenant();
    const one = await t.call('GET', '/api/v1/registry/extensions/com.acme.semver');
    expect(one.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0-beta.10', '1.0.0-beta.2', '0.9.0+build-7', '0.9.0-rc.1']);
  });

  it('installs the newest release by default: 0.9.0+build-7 is a release, the 1.0.0 betas are not', async () => {
    const t = await h.tenant();
    const res = await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.semver' });
    expect(res.status, res.text).toBe(201);
    expect(res.body.version).toBe('0.9.0+build-7');
  });
});
