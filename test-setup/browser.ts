/**
 * Real Chromium for browser tests: Debian's /usr/bin/chromium (or ALGA_CHROMIUM_PATH) driven
 * by playwright-core. `.ci/run` installs it with apt; locally `apt-get install -y chromium`.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = process.env.ALGA_CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: run \`apt-get install -y chromium\` or set ALGA_CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: chromiumPath,
    // Without the background-networking flags Chromium dials Google at start, which this network refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', ...extraArgs],
  });
}

/** A platform-origin page (any gateway URL the browser renders) where the admin logs in, as the web UI does. */
export async function adminPage(context: BrowserContext, gatewayUrl: string, apiKey: string): Promise<{ page: Page; csrfToken: string }> {
  const page = await context.newPage();
  await page.goto(`${gatewayUrl}/healthz`);
  const csrfToken = await page.evaluate(async (key) => {
    const res = await fetch('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: key }) });
    if (res.status !== 200) throw new Error(`login ${res.status}`);
    return ((await res.json()) as { csrfToken: string }).csrfToken;
  }, apiKey);
  return { page, csrfToken };
}
