/**
 * A modal `<dialog>` for a form (the shared `ConfirmDialog` only asks yes/no): labelled by its
 * title, the rest of the page inert, Tab kept inside, Esc closes unless `busy`, focus goes to
 * `initialFocus` (or the first field) on open and back to what opened it on close. The content
 * exists only while open, so nothing it showed stays in the DOM afterwards.
 */
import { useEffect, useId, type ReactNode, type RefObject } from 'react';
import { useModalDialog } from '../../components/use-modal-dialog.ts';

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
  const titleId = useId();
  const modal = useModalDialog({ open, busy, onDismiss: onClose });

  // Again on every step (form → the created key), so focus follows the content.
  useEffect(() => {
    if (!open || !modal.ref.current) return;
    const target = initialFocus?.current ?? modal.ref.current.querySelector<HTMLElement>('input, select, textarea, button');
    target?.focus();
  }, [open, step, initialFocus, modal.ref]);

  return (
    <dialog
      ref={modal.ref}
      className={`dialog${className ? ` ${className}` : ''}`}
      aria-labelledby={titleId}
      onKeyDown={modal.onKeyDown}
      onCancel={modal.onCancel}
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
