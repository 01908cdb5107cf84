/**
 * "You have unsaved changes": while `dirty`, leaving the page asks first.
 *
 * - Closing the tab, reloading or typing another address: the browser's own `beforeunload` prompt.
 * - An in-console link (`<Link>`, the navigation, the back link…): a click listener on `window`
 *   in the capture phase, so it runs before React's (on the root) and the router's `<Link>`;
 *   it stops the click and hands the target to the page, which asks in a `ConfirmDialog`.
 * - Back/forward inside the console: the Navigation API's `navigate` event (it comes before
 *   `popstate`, so the router never moves) is cancelled and the page asks; `leave()` then
 *   traverses to the entry the user wanted. A browser without the Navigation API, or a traversal
 *   the browser does not let a page cancel (no recent user interaction), goes through unasked.
 *
 * The shared router has no blocking hook (see the page's report); this is the local stand-in.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { navigate } from '../../router.tsx';

/** The slice of the Navigation API used here (not in TypeScript's DOM lib yet). */
interface NavigateEventLike extends Event {
  readonly navigationType: 'push' | 'replace' | 'reload' | 'traverse';
  readonly destination: { readonly url: string; readonly key: string | null; readonly sameDocument: boolean };
}
interface NavigationLike extends EventTarget {
  traverseTo(key: string): unknown;
}

export interface LeaveGuard {
  /** Where the user tried to go (path + search), or null. */
  pending: string | null;
  stay(): void;
  leave(): void;
}

export function useLeaveGuard(dirty: boolean): LeaveGuard {
  const [pending, setPending] = useState<{ to: string; historyKey?: string } | null>(null);
  const allowed = useRef(false);

  useEffect(() => {
    if (!dirty) return;
    const here = `${window.location.pathname}${window.location.search}`;
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      if (allowed.current) return;
      event.preventDefault();
      // Older engines want returnValue set; the text is the browser's own.
      event.returnValue = '';
    };
    const onClick = (event: MouseEvent) => {
      if (allowed.current || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const anchor = (event.target as Element | null)?.closest?.('a[href]');
      if (!(anchor instanceof HTMLAnchorElement) || anchor.target || anchor.hasAttribute('download')) return;
      const url = new URL(anchor.href, window.location.href);
      if (url.origin !== window.location.origin) return;
      const to = `${url.pathname}${url.search}`;
      if (to === here) return; // this page (e.g. the active sub-navigation tab)
      event.preventDefault();
      event.stopPropagation();
      setPending({ to });
    };
    const navigation = (window as unknown as { navigation?: NavigationLike }).navigation;
    const onNavigate = (e: Event) => {
      const event = e as NavigateEventLike;
      if (allowed.current || event.navigationType !== 'traverse' || !event.cancelable || !event.destination.sameDocument) return;
      const url = new URL(event.destination.url);
      const to = `${url.pathname}${url.search}`;
      if (to === here) return;
      event.preventDefault();
      setPending({ to, historyKey: event.destination.key ?? undefined });
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    window.addEventListener('click', onClick, true);
    navigation?.addEventListener('navigate', onNavigate);
    return () => {
      window.removeEventListener('beforeunload', onBeforeUnload);
      window.removeEventListener('click', onClick, true);
      navigation?.removeEventListener('navigate', onNavigate);
    };
  }, [dirty]);

  const stay = useCallback(() => setPending(null), []);
  const leave = useCallback(() => {
    if (pending === null) return;
    allowed.current = true;
    setPending(null);
    const navigation = (window as unknown as { navigation?: NavigationLike }).navigation;
    if (pending.historyKey && navigation) navigation.traverseTo(pending.historyKey);
    else navigate(pending.to);
  }, [pending]);

  return { pending: pending?.to ?? null, stay, leave };
}
