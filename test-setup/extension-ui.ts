/**
 * The iframe SDK for browser tests: its bundles (built once per test process) and `ui/` files
 * for `helloVariant(manifest, ui)` whose page loads the client bundle before the test's scripts.
 *
 * @example
 *   const host = (await extensionUiBundles()).hostIife.code;           // page.addScriptTag({ content: host })
 *   const ui = await uiUsingClient({ 'app.js': 'AlgaExtensionUi.onReady(() => { document.title = "ready"; });' });
 *   const bundle = await helloVariant({ name: 'com.alga.samples.ui-test', ui: { type: 'iframe', entry: 'ui/index.html' } }, ui);
 *   const appJs = await bundleUiScript(`import { onReady } from '@alga-psa/extension-ui/client'; onReady(() => {});`);
 */
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildExtensionUiBundles, type ExtensionUiBundles } from '@alga-psa/extension-ui/build-bundles';

let memo: Promise<ExtensionUiBundles> | undefined;

export function extensionUiBundles(): Promise<ExtensionUiBundles> {
  memo ??= buildExtensionUiBundles();
  return memo;
}

/**
 * `index.html` loading, in order, `before` scripts, the client IIFE (`alga-extension-ui.js`, global
 * `AlgaExtensionUi`) and then `scripts`. Classic script files only: the UI's CSP has
 * `script-src 'self'`, so inline script never runs, and module scripts need CORS (see `bundleUiScript`).
 */
export async function uiUsingClient(scripts: Record<string, string>, options: { before?: Record<string, string>; body?: string } = {}): Promise<Record<string, string>> {
  const bundles = await extensionUiBundles();
  const before = options.before ?? {};
  const tags = [...Object.keys(before), 'alga-extension-ui.js', ...Object.keys(scripts)].map((src) => `<script src="${src}"></script>`).join('\n');
  return {
    'index.html': `<!doctype html>\n<html>\n<head><meta charset="utf-8"><title>loading</title></head>\n<body>\n${options.body ?? ''}\n${tags}\n</body>\n</html>\n`,
    'alga-extension-ui.js': bundles.clientIife.code,
    ...before,
    ...scripts,
  };
}

/**
 * An extension UI's TypeScript entry, bundled with whatever it imports (the client SDK included)
 * into one classic script, as an extension's own esbuild build would: a classic script because
 * the UI's opaque origin makes every module script a CORS request the gateway does not answer.
 */
export async function bundleUiScript(source: string): Promise<string> {
  const result = await esbuild.build({
    stdin: { contents: source, loader: 'ts', resolveDir: fileURLToPath(new URL('.', import.meta.url)), sourcefile: 'ui-entry.ts' },
    bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2022', minify: true, logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
