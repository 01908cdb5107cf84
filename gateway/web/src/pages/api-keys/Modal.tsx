/**
 * A modal `<dialog>` for a form (the shared `ConfirmDialog` only asks yes/no): labelled by its
 * title, the rest of the page inert, Tab kept inside, Esc closes unless `busy`, focus goes to
 * `initialFocus` (or the first field) on open and back to what opened it on close. The content
 * exists only while open, so nothing it showed stays in the DOM afterwards.
 */
import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode, type RefObject } from 'react';

const focusable = 'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export interface ModalProps {
  open: boolean;
  title: string;
  busy?: boolean;
  onClose: () => void;
  initialFocus?: RefObject<HTMLElement | null>;
  /** Changes when the content changes (e.g. form → result) to move focus again. */
  step?: string;
  className?: string;
  children: ReactNode;
}

export function Modal({ open, title, busy = false, onClose, initialFocus, step, className, children }: ModalProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const titleId = useId();

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (open && !el.open) {
      opener.current = document.activeElement;
      el.showModal();
    } else if (!open && el.open) {
      el.close();
      if (opener.current instanceof HTMLElement && opener.current.isConnected) opener.current.focus();
    }
  }, [open]);

  useEffect(() => {
    if (!open || !dialog.current) return;
    const target = initialFocus?.current ?? dialog.current.querySelector<HTMLElement>('input, select, textarea, button');
    target?.focus();
  }, [open, step, initialFocus]);

  const onKeyDown = (event: KeyboardEvent<HTMLDialogElement>) => {
    if (event.key !== 'Tab' || !dialog.current) return;
    const items = [...dialog.current.querySelectorAll<HTMLElement>(focusable)];
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  };

  return (
    <dialog
      ref={dialog}
      className={`dialog${className ? ` ${className}` : ''}`}
      aria-labelledby={titleId}
      onKeyDown={onKeyDown}
      onCancel={(event) => { event.preventDefault(); if (!busy) onClose(); }}
    >
      {open && (
        <div className="dialog-content">
          <h2 id={titleId} className="dialog-title">{title}</h2>
          {children}
        </div>
      )}
    </dialog>
  );
}
