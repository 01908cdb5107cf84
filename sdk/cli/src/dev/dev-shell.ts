/**
 * The dev shell: a page that stands in for the admin console around an extension's iframe UI.
 * It mounts the UI with the REAL host bridge (`@alga-psa/extension-ui/host`, the code the admin
 * console runs), so the UI's proxy calls reach the handler exactly as in production. A status
 * bar shows the build; on each deploy the frame reloads with the new build's UI, and a failed
 * build is shown over the still-running previous one.
 */
import type { Manifest } from '@alga-psa/extension-contracts';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function shellHtml(manifest: Manifest): string {
  const title = escapeHtml(manifest.ui?.menu?.label ?? manifest.name);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · alga dev</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/_alga/shell.css">
</head>
<body>
<header>
  <strong>${title}</strong> <span class="muted">${escapeHtml(manifest.name)}@${escapeHtml(manifest.version)}</span>
  <span id="build" class="badge" data-state="building">starting…</span>
</header>
<pre id="build-error" hidden></pre>
<main id="extension" aria-label="${title}"></main>
<footer class="muted">alga component dev · the frame is sandboxed as in the admin console; its calls go through the host bridge to <code>/api/ext-proxy/${escapeHtml(manifest.name)}/…</code></footer>
<script src="/_alga/host.js"></script>
<script src="/_alga/shell.js"></script>
</body>
</html>
`;
}

/** Plain browser script (no bundler): connects to the shell's event stream and (re)mounts the frame. */
export const shellJs = `(() => {
  'use strict';
  const container = document.getElementById('extension');
  const badge = document.getElementById('build');
  const errorBox = document.getElementById('build-error');
  let frame;
  let mountedUrl;

  function showBuild(build) {
    badge.dataset.state = build.state;
    badge.textContent = build.state === 'ready' ? 'built ' + new Date(build.builtAt).toLocaleTimeString()
      : build.state === 'failed' ? 'build failed (previous build still serving)' : 'building…';
    errorBox.hidden = build.state !== 'failed';
    errorBox.textContent = build.state === 'failed' ? build.code + ': ' + build.message : '';
  }

  function mount(state) {
    if (!state.uiUrl || state.uiUrl === mountedUrl) return;
    if (frame) frame.destroy();
    mountedUrl = state.uiUrl;
    frame = AlgaExtensionHost.mountExtensionFrame({
      container,
      extensionId: state.name,
      uiUrl: state.uiUrl,
      // The dev server checks the origin instead of a session; the bridge still sends the header.
      csrfToken: 'alga-dev',
      title: state.name,
      onNavigate: (path) => { badge.title = 'the UI asked to navigate to ' + path; },
    });
    frame.ready.then(() => { document.body.dataset.frameReady = state.contentHash; }, () => {});
  }

  const events = new EventSource('/_alga/events');
  events.addEventListener('state', (e) => { const s = JSON.parse(e.data); showBuild(s.build); mount(s); });
  events.addEventListener('building', () => showBuild({ state: 'building' }));
  events.addEventListener('build-failed', (e) => showBuild(JSON.parse(e.data)));
  events.addEventListener('deployed', (e) => { const s = JSON.parse(e.data); showBuild(s.build); mount(s); });
})();
`;

export const shellCss = `:root { color-scheme: light dark; font: 14px/1.4 system-ui, sans-serif; }
body { margin: 0; display: grid; grid-template-rows: auto auto 1fr auto; min-height: 100vh; }
header, footer { padding: 8px 16px; display: flex; gap: 12px; align-items: center; border-bottom: 1px solid #8884; }
footer { border-top: 1px solid #8884; border-bottom: 0; font-size: 12px; }
.muted { opacity: .7; }
.badge { margin-left: auto; padding: 2px 8px; border-radius: 10px; font-size: 12px; background: #8883; }
.badge[data-state="ready"] { background: #2a7a2a33; }
.badge[data-state="failed"] { background: #b0303033; }
#build-error { margin: 0; padding: 8px 16px; background: #b0303022; white-space: pre-wrap; font: 12px/1.4 ui-monospace, monospace; max-height: 40vh; overflow: auto; }
main { padding: 16px; }
main iframe { width: 100%; border: 1px solid #8884; border-radius: 6px; min-height: 320px; }
`;
