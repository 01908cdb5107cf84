/**
 * Real Chromium for browser tests: Debian's /usr/bin/chromium (or ALGA_CHROMIUM_PATH) driven
 * by playwright-core. `.ci/run` installs it with apt; locally `apt-get install -y chromium`.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = process.env.ALGA_CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: run \`apt-get install -y chromium\` or set ALGA_CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: chromiumPath,
    // Without the background-networking flags Chromium dials Google at start, which this network refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', ...extraArgs],
  });
}
