/**
 * The iframe element for an extension UI: sandboxed without `allow-same-origin` (the document
 * gets an opaque origin even if the gateway's CSP were missing), no referrer, and the platform
 * origin in the `alga-parent-origin` query parameter so the client knows whose init to accept.
 *
 * @example
 *   const iframe = createSandboxedFrame({ uiUrl: install.uiUrl, pageUrl: location.href, title: 'Notes' });
 *   container.appendChild(iframe);
 */
import { extUiIframeSandbox } from '@alga-psa/extension-contracts/ext-ui-policy';
import { parentOriginParam } from './protocol.ts';

/** The same value the gateway's CSP applies: one definition for both. */
export const frameSandbox = extUiIframeSandbox;

export function createSandboxedFrame(options: { uiUrl: string; pageUrl: string; title: string }): HTMLIFrameElement {
  const src = new URL(options.uiUrl, options.pageUrl);
  // javascript:, data: or blob: would run in or next to the platform page instead of the gateway's sandbox.
  if (src.protocol !== 'https:' && src.protocol !== 'http:') throw new TypeError(`uiUrl must be an http(s) URL, not ${src.protocol}`);
  // A query parameter, not the fragment: the UI's own hash router never sees it, and the gateway ignores it.
  src.searchParams.set(parentOriginParam, new URL(options.pageUrl).origin);
  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', frameSandbox);
  iframe.setAttribute('referrerpolicy', 'no-referrer');
  iframe.title = options.title;
  iframe.style.border = '0';
  iframe.style.width = '100%';
  iframe.src = src.href;
  return iframe;
}
