import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';

let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };
let installId: string;

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { rateLimitPerMinute: 1000 } });
  await h.publishSample('hello');
  await h.publishSample('misbehaving');
  t = await h.tenant();
  installId = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body.id;
  await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' });
});
afterAll(() => h?.close());

async function runnerExecutions(): Promise<number> {
  const text = await (await fetch(`${h.runnerUrl}/metrics`)).text();
  return [...text.matchAll(/^alga_runner_executions_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('ALL /api/ext/:extensionId/* → runner', () => {
  it('a declared endpoint answers through the runner with the install config and version headers', async () => {
    await t.call('PUT', `/api/v1/installs/${installId}/settings`, { greeting: 'Howdy', excited: true });
    const res = await t.call('GET', '/api/ext/com.alga.samples.hello/hello');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ greeting: 'Howdy!', tenantId: t.tenantId });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
    expect(res.headers.get('x-ext-config-version')).toBe('2');
    expect(res.headers.get('x-ext-secrets-version')).toBe('0');
  });

  it('the extension id may be the registry uuid as well as the name', async () => {
    const install = (await t.call('GET', `/api/v1/installs/${installId}`)).body;
    expect((await t.call('GET', `/api/ext/${install.extensionId}/hello`)).status).toBe(200);
  });

  it('forwards method, sub-path, query and body, and never the caller credentials', async () => {
    const res = await t.call('POST', '/api/ext/com.alga.samples.hello/echo/x/y?a=1&b=two', '{"hi":1}', { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ method: 'POST', path: '/echo/x/y', query: { a: '1', b: 'two' }, body: '{"hi":1}' });
  });

  it('an undeclared endpoint gets 404 E_ENDPOINT_NOT_DECLARED without reaching the runner', async () => {
    const before = await runnerExecutions();
    const res = await t.call('GET', '/api/ext/com.alga.samples.hello/not-declared');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('E_ENDPOINT_NOT_DECLARED');
    const wrongMethod = await t.call('DELETE', '/api/ext/com.alga.samples.hello/hello');
    expect(wrongMethod.body.error.code).toBe('E_ENDPOINT_NOT_DECLARED');
    const traversal = await t.call('GET', '/api/ext/com.alga.samples.hello/echo/..%2F..%2Fsecret');
    expect(traversal.status).toBe(404);
    expect(await runnerExecutions()).toBe(before);
  });

  it('an extension that is not installed, or disabled, gets 404 E_INSTALL_DISABLED', async () => {
    expect((await t.call('GET', '/api/ext/com.nobody.nothing/hello')).body.error.code).toBe('E_INSTALL_DISABLED');
    await t.call('POST', `/api/v1/installs/${installId}/disable`);
    const res = await t.call('GET', '/api/ext/com.alga.samples.hello/hello');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('E_INSTALL_DISABLED');
    await t.call('POST', `/api/v1/installs/${installId}/enable`);
    expect((await t.call('GET', '/api/ext/com.alga.samples.hello/hello')).status).toBe(200);
  });

  it('RBAC: a read-only key may GET but not POST (403 E_FORBIDDEN)', async () => {
    const { key } = (await t.call('POST', '/api/v1/api-keys', { name: 'ro', roles: ['extension:read'] })).body;
    const ro = { authorization: `Bearer ${key}` };
    expect((await fetch(`${h.url}/api/ext/com.alga.samples.hello/hello`, { headers: ro })).status).toBe(200);
    const post = await fetch(`${h.url}/api/ext/com.alga.samples.hello/echo/x`, { method: 'POST', headers: ro, body: 'x' });
    expect(post.status).toBe(403);
    expect((await post.json()).error.code).toBe('E_FORBIDDEN');
  });

  it('without credentials the proxy answers 401 E_AUTH', async () => {
    const res = await fetch(`${h.url}/api/ext/com.alga.samples.hello/hello`);
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe('E_AUTH');
  });

  it('writes an audit row per request with route, status and duration', async () => {
    const res = await t.call('GET', '/api/ext/com.alga.samples.hello/hello');
    const requestId = res.headers.get('x-request-id')!;
    let row: any;
    for (let i = 0; i < 50 && !row?.status; i++) {
      row = await h.db.knex('extension_execution_log').where({ request_id: requestId }).first();
      if (!row?.status) await new Promise((r) => setTimeout(r, 20));
    }
    expect(row).toMatchObject({ tenant_id: t.tenantId, install_id: installId, route: 'GET /hello', status: 200, error_code: null });
    expect(row.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('stores the guest logs of a request', async () => {
    const res = await t.call('GET', '/api/ext/com.alga.samples.hello/hello');
    const requestId = res.headers.get('x-request-id')!;
    let rows: any[] = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = await h.db.knex('extension_log').where({ request_id: requestId });
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(rows).toEqual([expect.objectContaining({ level: 'info', message: 'greeted', fields: { tenant: t.tenantId } })]);
  });

  it('passes the runner 504 E_DEADLINE on when the guest overruns the request budget, and records it', async () => {
    const h2 = await startGatewayHarness({ gateway: { requestBudgetMs: 400 } });
    try {
      await h2.publishSample('misbehaving');
      const t2 = await h2.tenant();
      await t2.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' });
      const started = Date.now();
      const res = await t2.call('GET', '/api/ext/com.alga.samples.misbehaving/loop');
      expect(res.status).toBe(504);
      expect(res.body.error.code).toBe('E_DEADLINE');
      expect(Date.now() - started).toBeLessThan(400 + 1000);
      const ok = await t2.call('GET', '/api/ext/com.alga.samples.misbehaving/ok');
      expect(ok.status).toBe(200);
    } finally {
      await h2.close();
    }
  });

  it('passes guest traps on as 502 E_GUEST_TRAP', async () => {
    const res = await t.call('GET', '/api/ext/com.alga.samples.misbehaving/throw');
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('E_GUEST_TRAP');
  });
});

describe('executions and logs APIs', () => {
  it('list the install\'s audit rows and guest logs, newest first, with paging', async () => {
    const res = await t.call('GET', '/api/ext/com.alga.samples.hello/hello');
    const requestId = res.headers.get('x-request-id')!;
    let logs: any;
    for (let i = 0; i < 50; i++) {
      logs = (await t.call('GET', `/api/v1/installs/${installId}/logs?requestId=${requestId}`)).body;
      if (logs.logs.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(logs.logs).toEqual([expect.objectContaining({ requestId, level: 'info', message: 'greeted' })]);
    const page1 = (await t.call('GET', `/api/v1/installs/${installId}/executions?limit=2`)).body;
    expect(page1.executions).toHaveLength(2);
    expect(page1.executions[0].id).toBeGreaterThan(page1.executions[1].id);
    const page2 = (await t.call('GET', `/api/v1/installs/${installId}/executions?limit=2&before=${page1.nextBefore}`)).body;
    expect(page2.executions[0].id).toBeLessThan(page1.executions[1].id);
    expect((await t.call('GET', `/api/v1/installs/${installId}/executions?limit=0`)).body.error.code).toBe('E_VALIDATION');
  });

  it('filter failures and levels, poll for what is newer, and summarise the last hour per install in the installs list', async () => {
    const mis = (await t.call('GET', '/api/v1/installs')).body.installs.find((i: { extensionName: string }) => i.extensionName === 'com.alga.samples.misbehaving');
    const before = mis.activity;
    const newest = (await t.call('GET', `/api/v1/installs/${mis.id}/executions?limit=1`)).body.executions[0]?.id ?? 0;
    expect((await t.call('GET', '/api/ext/com.alga.samples.misbehaving/throw')).status).toBe(502);
    let newer: any[] = [];
    for (let i = 0; i < 100; i++) {
      newer = (await t.call('GET', `/api/v1/installs/${mis.id}/executions?after=${newest}`)).body.executions;
      if (newer[0]?.errorCode) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(newer).toEqual([expect.objectContaining({ route: 'GET /throw', errorCode: 'E_GUEST_TRAP' })]);
    let after: any;
    for (let i = 0; i < 100; i++) {
      after = (await t.call('GET', '/api/v1/installs')).body.installs.find((x: { id: string }) => x.id === mis.id).activity;
      if (after.lastError?.code === 'E_GUEST_TRAP' && after.errorsLastHour > before.errorsLastHour) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(after).toMatchObject({ requestsLastHour: before.requestsLastHour + 1, errorsLastHour: before.errorsLastHour + 1, lastError: { code: 'E_GUEST_TRAP', route: 'GET /throw' } });
    const failures = (await t.call('GET', `/api/v1/installs/${mis.id}/executions?outcome=error`)).body.executions;
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((e: { errorCode: string | null; status: number }) => e.errorCode !== null || e.status >= 500)).toBe(true);
    const hello = (await t.call('GET', `/api/v1/installs/${installId}/logs?level=warn`)).body.logs;
    expect(hello.every((l: { level: string }) => l.level === 'warn' || l.level === 'error')).toBe(true);
    expect((await t.call('GET', `/api/v1/installs/${installId}/logs?level=loud`)).body.error.code).toBe('E_VALIDATION');
    expect((await t.call('GET', `/api/v1/installs/${installId}/executions?outcome=ok`)).body.error.code).toBe('E_VALIDATION');
    expect((await t.call('GET', `/api/v1/installs/${installId}/executions?after=-1`)).body.error.code).toBe('E_VALIDATION');
  });

  it("another tenant cannot read this install's executions or logs (404)", async () => {
    const other = await h.tenant();
    for (const path of [`/api/v1/installs/${installId}/executions`, `/api/v1/installs/${installId}/logs`]) {
      const res = await other.call('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.text).not.toContain('greeted');
    }
  });
});

describe('rate limit', () => {
  it('an install past its per-minute budget gets 429 E_RATE_LIMITED with Retry-After, other installs unaffected', async () => {
    const h3 = await startGatewayHarness({ gateway: { rateLimitPerMinute: 3 } });
    try {
      await h3.publishSample('hello');
      await h3.publishSample('misbehaving');
      const t3 = await h3.tenant();
      const helloInstall = (await t3.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body.id;
      await t3.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await t3.call('GET', '/api/ext/com.alga.samples.hello/hello')).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const limited = await t3.call('GET', '/api/ext/com.alga.samples.hello/hello');
      expect(limited.body.error.code).toBe('E_RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // Refused before the audit point: the three answered requests have rows, the two 429s none.
      const rows = (await t3.call('GET', `/api/v1/installs/${helloInstall}/executions`)).body.executions;
      expect(rows.map((r: { status: number }) => r.status)).toEqual([200, 200, 200]);
      expect((await t3.call('GET', '/api/ext/com.alga.samples.misbehaving/ok')).status).toBe(200);
    } finally {
      await h3.close();
    }
  });
});

describe('runner down', () => {
  it('answers 503 E_RUNNER_UNAVAILABLE with a clear message', async () => {
    const h4 = await startGatewayHarness({ runner: false });
    try {
      await h4.publishSample('hello');
      const t4 = await h4.tenant();
      await t4.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
      const res = await t4.call('GET', '/api/ext/com.alga.samples.hello/hello');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('E_RUNNER_UNAVAILABLE');
      expect(res.body.error.message).toMatch(/unreachable/);
    } finally {
      await h4.close();
    }
  });
});

describe('/api/ext-proxy (iframe UIs, session auth)', () => {
  it('works with the session cookie from login, and refuses a bearer API key', async () => {
    const login = await fetch(`${h.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: t.adminKey }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    expect(login.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    expect(login.headers.get('set-cookie')).toMatch(/SameSite=Strict/i);
    const { csrfToken } = await login.json();
    const res = await fetch(`${h.url}/api/ext-proxy/com.alga.samples.hello/hello`, { headers: { cookie, origin: new URL(h.url).origin, 'x-alga-csrf': csrfToken } });
    expect(res.status).toBe(200);
    expect((await res.json()).tenantId).toBe(t.tenantId);
    const bearer = await fetch(`${h.url}/api/ext-proxy/com.alga.samples.hello/hello`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(bearer.status).toBe(401);
  });
});

describe('a runner that does not trust the gateway keys', () => {
  it('answers 503 E_RUNNER_UNAVAILABLE naming the runner reason and what to check', async () => {
    const { generateExecutionSigningKey } = await import('@alga-psa/extension-contracts');
    const stranger = await generateExecutionSigningKey('stranger');
    const g = await startGatewayHarness({ runner: { trustedKeys: [stranger.publicJwk] } });
    try {
      await g.publishSample('hello');
      const tenant = await g.tenant();
      await tenant.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
      const res = await tenant.call('GET', '/api/ext/com.alga.samples.hello/hello');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('E_RUNNER_UNAVAILABLE');
      expect(res.body.error.message).toContain('execution token is invalid');
      expect(res.body.error.message).toContain('RUNNER_TRUSTED_KEYS');
    } finally {
      await g.close();
    }
  });
});
