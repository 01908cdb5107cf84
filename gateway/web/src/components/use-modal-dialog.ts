/**
 * What every modal `<dialog>` of the console does the same way (ConfirmDialog, the consent
 * screen, the API key form): `showModal()` when it opens (the rest of the page inert), focus to
 * `initialFocus` then, Tab kept inside, Esc asks `onDismiss` (not while `busy`), and focus back
 * to what opened it when it closes.
 *
 * @example
 *   const modal = useModalDialog({ open, busy, onDismiss: onCancel, initialFocus: () => cancelButton.current });
 *   return <dialog ref={modal.ref} onKeyDown={modal.onKeyDown} onCancel={modal.onCancel} className="dialog">…</dialog>;
 */
import { useEffect, useRef, type KeyboardEvent, type SyntheticEvent } from 'react';

const focusable = 'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export interface ModalDialogOptions {
  open: boolean;
  busy?: boolean;
  onDismiss: () => void;
  /** What gets focus when the dialog opens (its content is rendered by then). */
  initialFocus?: (dialog: HTMLDialogElement) => HTMLElement | null | undefined;
}

export function useModalDialog({ open, busy = false, onDismiss, initialFocus }: ModalDialogOptions) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (open && !el.open) {
      opener.current = document.activeElement;
      el.showModal();
      initialFocus?.(el)?.focus();
    } else if (!open && el.open) {
      el.close();
      if (opener.current instanceof HTMLElement && opener.current.isConnected) opener.current.focus();
    }
    // Only the open state drives the dialog; initialFocus is read at that moment.
  }, [open]);

  const onKeyDown = (event: KeyboardEvent<HTMLDialogElement>) => {
    if (event.key !== 'Tab' || !ref.current) return;
    const items = [...ref.current.querySelectorAll<HTMLElement>(focusable)];
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  };

  // Esc: the browser's cancel event; React state decides whether it closes.
  const onCancel = (event: SyntheticEvent<HTMLDialogElement>) => { event.preventDefault(); if (!busy) onDismiss(); };

  return { ref, onKeyDown, onCancel };
}
