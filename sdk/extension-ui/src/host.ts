/**
 * The host bridge, for the platform page (the admin UI, logged in with a session): frames an
 * extension's UI in a sandbox, connects it over a MessagePort, and makes the `/api/ext-proxy`
 * calls it asks for with the session's cookie and CSRF token. The frame never receives the token,
 * the cookie or any response header but `content-type`.
 *
 * @example
 *   import { mountExtensionFrame } from '@alga-psa/extension-ui/host';
 *   const { csrfToken } = await (await fetch('/api/v1/auth/me')).json();
 *   const frame = mountExtensionFrame({
 *     container: document.querySelector('#extension')!,
 *     extensionId: install.extensionName,          // or the registry id
 *     uiUrl: install.uiUrl,
 *     csrfToken,
 *     allowedRoutes: manifest.api.endpoints,       // optional narrowing
 *     onNavigate: (path) => router.push(path),
 *     onResize: (height) => console.debug('frame height', height),
 *   });
 *   await frame.ready;                              // the UI loaded the client SDK
 *   frame.destroy();                                // removes the frame and every listener
 */
// First: it must run before any schema below is built.
import './zod-jitless.ts';
import { compileAllowedRoutes, type AllowedRoute } from './allowed-routes.ts';
import { ExtensionUiError } from './errors.ts';
import { serveChannel, type Channel } from './host-channel.ts';
import { createSandboxedFrame } from './host-frame.ts';
import { offerChannel } from './host-handshake.ts';
import { forwardProxyCall, type ProxySettings } from './host-proxy.ts';
import { maxTimeoutMs as protocolMaxTimeoutMs } from './protocol.ts';
import { checkRoute } from './route.ts';

export { ExtensionUiError, bridgeErrorCodes, type BridgeErrorCode } from './errors.ts';
export type { AllowedRoute } from './allowed-routes.ts';
export { frameSandbox } from './host-frame.ts';

export interface MountOptions {
  container: Element;
  /** The extension's name or registry id, as `/api/ext-proxy/:extensionId` takes it. */
  extensionId: string;
  /** The install's `uiUrl` (relative to this page, or on `ALGA_EXT_UI_ORIGIN`). */
  uiUrl: string;
  /** The session's CSRF token (login or `GET /api/v1/auth/me`); a function is asked on every call. */
  csrfToken: string | (() => string | Promise<string>);
  /** Default `/api/ext-proxy`: a path on this page's origin. */
  proxyBase?: string;
  /** Only these routes, in manifest endpoint syntax (`'GET /tickets/:id'`, `{ method, path }`); default: all. */
  allowedRoutes?: readonly AllowedRoute[];
  /** The frame asked to navigate the admin UI; `path` is a checked relative path. Absent: E_UNSUPPORTED. */
  onNavigate?: (path: string) => void;
  /** The frame asked for a height (already clamped and applied to the iframe). */
  onResize?: (height: number) => void;
  /** Each completed handshake (the first one and one per reload of the frame). */
  onReady?: () => void;
  /** The fetch proxy calls use; default the page's. */
  fetch?: typeof fetch;
  /** The iframe's title (accessibility). */
  title?: string;
  /** Default 1 MiB. */
  maxRequestBytes?: number;
  /** Default 4 MiB. */
  maxResponseBytes?: number;
  /** Calls in flight per frame before E_BUSY; default 8. */
  maxConcurrentRequests?: number;
  /** Ceiling for a call's timeout; default 30 s. */
  maxTimeoutMs?: number;
  /** How long the UI has to answer the handshake after each load; default 10 s. */
  handshakeTimeoutMs?: number;
  /** Default 20000 px. */
  maxFrameHeight?: number;
}

export interface ExtensionFrame {
  readonly iframe: HTMLIFrameElement;
  /** Resolves at the first handshake; rejects with E_NOT_CONNECTED when it does not happen in time. */
  readonly ready: Promise<void>;
  destroy(): void;
}

const extensionIdPattern = /^[A-Za-z0-9._-]{1,256}$/;

export function mountExtensionFrame(options: MountOptions): ExtensionFrame {
  if (!extensionIdPattern.test(options.extensionId)) throw new TypeError(`extensionId ${JSON.stringify(options.extensionId)} is not an extension name or id`);
  if (typeof options.csrfToken !== 'function' && !options.csrfToken) throw new TypeError('csrfToken is required: the proxy refuses session calls without it');
  const pageUrl = location.href;
  const limits = { maxRequestBytes: options.maxRequestBytes ?? 1 << 20, maxResponseBytes: options.maxResponseBytes ?? 4 << 20 };
  const settings: ProxySettings = {
    extensionId: options.extensionId,
    proxyBase: checkProxyBase(options.proxyBase ?? '/api/ext-proxy'),
    csrfToken: options.csrfToken,
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    allowed: compileAllowedRoutes(options.allowedRoutes),
    ...limits,
    maxTimeoutMs: Math.min(options.maxTimeoutMs ?? 30_000, protocolMaxTimeoutMs),
    pageUrl,
  };
  const maxFrameHeight = options.maxFrameHeight ?? 20_000;
  const iframe = createSandboxedFrame({ uiUrl: options.uiUrl, pageUrl, title: options.title ?? `Extension ${options.extensionId}` });

  let destroyed = false;
  let offer: { cancel(): void } | undefined;
  let channel: Channel | undefined;
  let settle: { resolve(): void; reject(err: Error): void } | undefined;
  const ready = new Promise<void>((resolve, reject) => { settle = { resolve, reject }; });
  ready.catch(() => {}); // observed through `ready` by callers who care; never an unhandled rejection
  const settleOnce = (err?: Error) => {
    if (err) settle?.reject(err);
    else settle?.resolve();
    settle = undefined;
  };

  const endConversation = () => {
    offer?.cancel();
    offer = undefined;
    channel?.close();
    channel = undefined;
  };

  // Every load is a new document, which must not inherit the previous one's channel.
  const onLoad = () => {
    if (destroyed) return;
    endConversation();
    const frameWindow = iframe.contentWindow;
    if (!frameWindow) return;
    const timeoutMs = options.handshakeTimeoutMs ?? 10_000;
    offer = offerChannel({
      frameWindow, extensionId: options.extensionId, limits, timeoutMs,
      onConnected: (port, channelId) => {
        offer = undefined;
        channel = serveChannel(port, channelId, {
          proxy: (request, closed) => forwardProxyCall(request, settings, closed),
          resize: (height) => {
            const clamped = Math.round(Math.min(height, maxFrameHeight));
            iframe.style.height = `${clamped}px`;
            options.onResize?.(clamped);
          },
          ...(options.onNavigate ? { navigate: options.onNavigate } : {}),
          maxConcurrent: options.maxConcurrentRequests ?? 8,
        });
        settleOnce();
        options.onReady?.();
      },
      onFailed: () => {
        offer = undefined;
        settleOnce(new ExtensionUiError('E_NOT_CONNECTED', `the extension UI did not answer the handshake within ${timeoutMs} ms: does it load @alga-psa/extension-ui/client?`));
      },
    });
  };
  iframe.addEventListener('load', onLoad);
  options.container.appendChild(iframe);

  return {
    iframe,
    ready,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      iframe.removeEventListener('load', onLoad);
      endConversation();
      iframe.remove();
      settleOnce(new ExtensionUiError('E_NOT_CONNECTED', 'the frame was destroyed'));
    },
  };
}

function checkProxyBase(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  let query = '';
  try {
    query = checkRoute(trimmed).query;
  } catch {
    query = 'invalid';
  }
  if (query) throw new TypeError(`proxyBase ${JSON.stringify(base)} must be a path on this origin, like /api/ext-proxy`);
  return trimmed;
}
