/**
 * TLS between the gateway and the runner: a real runner serving https (and mTLS) on loopback
 * with certificates made by the openssl CLI for this run, called through the gateway's own
 * RunnerClient, and a whole proxied request through a real gateway.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRunnerHarness, decodeBody, type RunnerHarness } from '../../test-setup/runner-harness.ts';
import { startGatewayHarness } from '../../test-setup/gateway-harness.ts';
import { RunnerClient } from '../../gateway/src/proxy/runner-client.ts';
import { gatewayConfigFromEnv } from '../../gateway/src/config.ts';
import { createRunner, runnerConfigFromEnv } from '../src/index.ts';

let dir: string;
const pem = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and certificates it signs: `ext` is the x509v3 extension text. */
async function makeCa(name: string): Promise<void> {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=alga test ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', `${name}.key`, '-out', `${name}.crt`);
}
async function makeCert(name: string, ca: string, ext: string): Promise<void> {
  await writeFile(pem(`${name}.ext`), ext);
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
}

let tlsRunner: RunnerHarness;
let mtlsRunner: RunnerHarness;
let helloTls: string;
let helloMtls: string;

beforeAll(async () => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('these tests need the openssl CLI on PATH (Debian: apt-get install openssl)');
  }
  dir = await mkdtemp(join(tmpdir(), 'alga-tls-'));
  await makeCa('ca');
  await makeCa('rogue-ca');
  await makeCert('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  await makeCert('client', 'ca', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  await makeCert('rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  const serverTls = { certFile: pem('server.crt'), keyFile: pem('server.key') };
  tlsRunner = await startRunnerHarness({ workers: 1, tls: serverTls });
  mtlsRunner = await startRunnerHarness({ workers: 1, tls: { ...serverTls, clientCaFile: pem('ca.crt') } });
  helloTls = await tlsRunner.addSample('hello');
  helloMtls = await mtlsRunner.addSample('hello');
});
afterAll(async () => {
  await tlsRunner?.close();
  await mtlsRunner?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A connection that failed, not a runner answer (a refused token would say so instead). */
const unreachable = { ok: false, error: { code: 'E_RUNNER_UNAVAILABLE', message: expect.stringMatching(/unreachable/) } };

/** One hello execute through the gateway's RunnerClient. */
async function hello(h: RunnerHarness, contentHash: string, client: RunnerClient) {
  const { token, body } = await h.prepare({ contentHash, path: '/hello', config: { greeting: 'Hi' } });
  try {
    return await client.execute(token!, body, 5000, {});
  } finally {
    await client.close();
  }
}

describe('runner over https', () => {
  it('serves https: a hello execute through RunnerClient trusting the private CA answers 200', async () => {
    expect(tlsRunner.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await hello(tlsRunner, helloTls, new RunnerClient(tlsRunner.url, { caFile: pem('ca.crt') }));
    expect(answer.ok).toBe(true);
    if (answer.ok) expect(decodeBody(answer.result)).toMatchObject({ greeting: 'Hi' });
  });

  it('plain http to the TLS port fails: RunnerClient gets E_RUNNER_UNAVAILABLE and fetch gets no answer', async () => {
    const plain = tlsRunner.url.replace('https://', 'http://');
    const answer = await hello(tlsRunner, helloTls, new RunnerClient(plain));
    expect(answer).toMatchObject(unreachable);
    await expect(fetch(`${plain}/healthz`)).rejects.toThrow();
  });

  it('a client that does not trust the runner certificate refuses it (E_RUNNER_UNAVAILABLE)', async () => {
    const answer = await hello(tlsRunner, helloTls, new RunnerClient(tlsRunner.url, { caFile: pem('rogue-ca.crt') }));
    expect(answer).toMatchObject(unreachable);
  });
});

describe('runner requiring client certificates (mTLS)', () => {
  it('a client without a certificate is refused in the handshake (E_RUNNER_UNAVAILABLE)', async () => {
    const answer = await hello(mtlsRunner, helloMtls, new RunnerClient(mtlsRunner.url, { caFile: pem('ca.crt') }));
    expect(answer).toMatchObject(unreachable);
  });

  it('a client certificate from another CA is refused (E_RUNNER_UNAVAILABLE)', async () => {
    const answer = await hello(mtlsRunner, helloMtls, new RunnerClient(mtlsRunner.url, { caFile: pem('ca.crt'), certFile: pem('rogue-client.crt'), keyFile: pem('rogue-client.key') }));
    expect(answer).toMatchObject(unreachable);
  });

  it('a client presenting a certificate the runner CA signed gets 200', async () => {
    const answer = await hello(mtlsRunner, helloMtls, new RunnerClient(mtlsRunner.url, { caFile: pem('ca.crt'), certFile: pem('client.crt'), keyFile: pem('client.key') }));
    expect(answer.ok).toBe(true);
  });

  it('end to end: a tenant request through a real gateway configured with ALGA_RUNNER_TLS_* reaches an mTLS runner (200)', async () => {
    const h = await startGatewayHarness({
      runner: { workers: 1, tls: { certFile: pem('server.crt'), keyFile: pem('server.key'), clientCaFile: pem('ca.crt') } },
      gateway: { runnerTls: { caFile: pem('ca.crt'), certFile: pem('client.crt'), keyFile: pem('client.key') } },
    });
    try {
      expect(h.runnerUrl).toMatch(/^https:/);
      await h.publishSample('hello');
      const t = await h.tenant();
      expect((await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).status).toBe(201);
      const res = await t.call('GET', '/api/ext/com.alga.samples.hello/hello');
      expect(res.status, res.text).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe('TLS configuration is checked at start-up', () => {
  it('RUNNER_TLS_CERT_FILE without RUNNER_TLS_KEY_FILE (or the reverse) stops the runner config, naming both', () => {
    expect(() => runnerConfigFromEnv({ RUNNER_TRUSTED_KEYS: '[{"kid":"k"}]', RUNNER_TLS_CERT_FILE: pem('server.crt') })).toThrow(/RUNNER_TLS_CERT_FILE and RUNNER_TLS_KEY_FILE must be set together/);
    expect(() => runnerConfigFromEnv({ RUNNER_TRUSTED_KEYS: '[{"kid":"k"}]', RUNNER_TLS_KEY_FILE: pem('server.key') })).toThrow(/must be set together/);
  });

  it('RUNNER_TLS_CLIENT_CA_FILE without a server certificate stops the runner config', () => {
    expect(() => runnerConfigFromEnv({ RUNNER_TRUSTED_KEYS: '[{"kid":"k"}]', RUNNER_TLS_CLIENT_CA_FILE: pem('ca.crt') })).toThrow(/RUNNER_TLS_CLIENT_CA_FILE needs RUNNER_TLS_CERT_FILE/);
  });

  it('an unreadable certificate file stops createRunner before it starts workers, naming the variable', async () => {
    const config = runnerConfigFromEnv({ RUNNER_TRUSTED_KEYS: '[{"kid":"k","kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]', RUNNER_TLS_CERT_FILE: pem('missing.crt'), RUNNER_TLS_KEY_FILE: pem('server.key') });
    await expect(createRunner(config)).rejects.toThrow(/cannot read RUNNER_TLS_CERT_FILE/);
  });

  it('the gateway refuses ALGA_RUNNER_TLS_CERT_FILE without its key, and TLS files with an http RUNNER_URL', () => {
    expect(() => gatewayConfigFromEnv({ ALGA_RUNNER_TLS_CERT_FILE: pem('client.crt') })).toThrow(/ALGA_RUNNER_TLS_CERT_FILE and ALGA_RUNNER_TLS_KEY_FILE must be set together/);
    const config = gatewayConfigFromEnv({ RUNNER_URL: 'http://127.0.0.1:8081', ALGA_RUNNER_TLS_CA_FILE: pem('ca.crt') });
    expect(() => new RunnerClient(config.runnerUrl, config.runnerTls)).toThrow(/RUNNER_URL http:\/\/127\.0\.0\.1:8081 is not https/);
  });
});
