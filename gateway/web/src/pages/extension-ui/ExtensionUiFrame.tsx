/**
 * The extension's iframe, hosted with `mountExtensionFrame` from `@alga-psa/extension-ui/host`:
 * mounted in an effect, destroyed on unmount, on a new `uiUrl` (upgrade) and on "Try again".
 *
 * - The frame is sandboxed without `allow-same-origin` and its document is served with a CSP
 *   `sandbox` (an opaque origin): it can read neither this page's DOM nor its cookies, and it
 *   holds no credential. Its calls travel over a MessagePort to the bridge, which sends them to
 *   `/api/ext-proxy/<extension>/…` from this page with the session cookie and `x-alga-csrf`
 *   (the token is read from the session on every call, never handed to the frame).
 * - Loading until the UI answers the handshake (`frame.ready`); an error with a retry when it
 *   does not within 10 s (the UI never loaded the client SDK, its assets are missing…).
 * - Proxy answers are watched on the way back: 404 `E_INSTALL_DISABLED` tells the page the
 *   install was disabled meanwhile (`onInstallDisabled`), and a 401 hands the ended session to
 *   the console's sign-in flow.
 * - `navigate(path)` from the frame goes only to a console page (`consoleTarget`); anything else
 *   is refused to the frame with E_ROUTE_NOT_ALLOWED.
 */
import { useEffect, useRef, useState } from 'react';
import { ExtensionUiError, mountExtensionFrame, type ExtensionFrame } from '@alga-psa/extension-ui/host';
import { api } from '../../api/client.ts';
import { useSession } from '../../api/session.tsx';
import { Button } from '../../components/Button.tsx';
import { Loading } from '../../components/Loading.tsx';
import { navigate } from '../../router.tsx';
import { consoleTarget } from './navigation.ts';
import { allowedRoutesOf, type InstallWithManifest } from './types.ts';

/** How long the UI has to load and answer the handshake. */
const handshakeTimeoutMs = 10_000;

type Phase = { kind: 'connecting' } | { kind: 'ready' } | { kind: 'failed'; error: unknown };

export interface ExtensionUiFrameProps {
  install: InstallWithManifest;
  /** The iframe's title (the manifest's menu label). */
  label: string;
  /** Bumped by the page's "Reload UI": a fresh frame. */
  generation: number;
  /** A proxy call was refused with E_INSTALL_DISABLED. */
  onInstallDisabled: () => void;
}

export function ExtensionUiFrame({ install, label, generation, onInstallDisabled }: ExtensionUiFrameProps) {
  const container = useRef<HTMLDivElement>(null);
  const { me } = useSession();
  const csrfToken = useRef(me?.csrfToken);
  const disabled = useRef(onInstallDisabled);
  useEffect(() => {
    csrfToken.current = me?.csrfToken;
    disabled.current = onInstallDisabled;
  });
  const [retries, setRetries] = useState(0);
  const [phase, setPhase] = useState<Phase>({ kind: 'connecting' });
  const [sized, setSized] = useState(false);

  const { extensionName, uiUrl } = install;
  const routesKey = JSON.stringify(allowedRoutesOf(install) ?? null);

  useEffect(() => {
    const element = container.current;
    if (!element || !uiUrl) return;
    setPhase({ kind: 'connecting' });
    setSized(false);
    let frame: ExtensionFrame;
    try {
      frame = mountExtensionFrame({
        container: element,
        extensionId: extensionName,
        uiUrl,
        title: label,
        csrfToken: () => csrfToken.current ?? '',
        allowedRoutes: JSON.parse(routesKey) ?? undefined,
        handshakeTimeoutMs,
        fetch: watchedFetch(() => disabled.current()),
        onNavigate: (path) => {
          const target = consoleTarget(path);
          // An ExtensionUiError goes back to the frame as is (anything else would be reported as a page error).
          if (!target) throw new ExtensionUiError('E_ROUTE_NOT_ALLOWED', `the console has no page at ${path}`);
          navigate(target);
        },
        onResize: () => setSized(true),
      });
    } catch (err) {
      setPhase({ kind: 'failed', error: err });
      return;
    }
    let live = true;
    frame.ready.then(
      () => { if (live) setPhase({ kind: 'ready' }); },
      (err: unknown) => {
        if (!live) return;
        frame.destroy();
        setPhase({ kind: 'failed', error: err });
      },
    );
    return () => {
      live = false;
      frame.destroy();
    };
  }, [extensionName, uiUrl, label, routesKey, generation, retries]);

  const className = ['ext-ui-frame', phase.kind === 'connecting' ? 'is-connecting' : '', sized ? 'is-sized' : ''].filter(Boolean).join(' ');
  return (
    <div className="ext-ui-body" aria-busy={phase.kind === 'connecting' || undefined}>
      {phase.kind === 'connecting' && <div className="ext-ui-overlay"><Loading label={`Loading ${label}`} /></div>}
      {phase.kind === 'failed' && <FrameFailed error={phase.error} label={label} onRetry={() => setRetries((n) => n + 1)} />}
      <div ref={container} className={className} hidden={phase.kind === 'failed'} />
    </div>
  );
}

/**
 * The page's `fetch` for proxy calls, with a look at each answer before the bridge reads it. The
 * body of an E_INSTALL_DISABLED answer is read from a clone; everything else passes untouched.
 */
function watchedFetch(onDisabled: () => void): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 401) {
      // The session ended: asking the API again lets the client's 401 handling go to sign-in.
      void api.get('/api/v1/auth/me').catch(() => undefined);
    } else if (response.status === 404 && (response.headers.get('content-type') ?? '').includes('json')) {
      void response.clone().json().then(
        (body: { error?: { code?: unknown } } | null) => { if (body?.error?.code === 'E_INSTALL_DISABLED') onDisabled(); },
        () => undefined,
      );
    }
    return response;
  };
}

function FrameFailed({ error, label, onRetry }: { error: unknown; label: string; onRetry: () => void }) {
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  const notConnected = code === 'E_NOT_CONNECTED';
  return (
    <div className="error-state ext-ui-failed" role="alert">
      <div className="error-state-icon" aria-hidden="true">!</div>
      <div>
        <h3 className="error-state-title">{label} didn't load</h3>
        <p className="error-state-body">
          {notConnected
            ? `The extension's UI did not connect to the console within ${handshakeTimeoutMs / 1000} seconds. Try again; if it keeps happening, its publisher needs to fix the UI (it must load the Alga extension UI client).`
            : `The console could not open the extension's UI: ${error instanceof Error ? error.message : String(error)}`}
        </p>
        {code && <p className="error-state-meta"><code>{code}</code></p>}
        <Button variant="primary" size="sm" onClick={onRetry}>Try again</Button>
      </div>
    </div>
  );
}
