/** Browser-like session requests for gateway tests: the cookie, the CSRF token and the Origin a platform page sends. */
export interface TestSession {
  cookie: string;
  csrfToken: string;
  /** Headers a fetch from the platform page carries: cookie, Origin and the CSRF token. */
  headers: Record<string, string>;
}

export async function login(gatewayUrl: string, apiKey: string): Promise<TestSession> {
  const res = await fetch(`${gatewayUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey }) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0];
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie, csrfToken, headers: { cookie, origin: new URL(gatewayUrl).origin, 'x-alga-csrf': csrfToken } };
}
