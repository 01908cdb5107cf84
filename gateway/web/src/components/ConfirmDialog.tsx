/**
 * "Are you sure?" for destructive or far-reaching actions (uninstall, reset, revoke). A modal
 * `<dialog>` (the rest of the page is inert), labelled by its title and described by its body;
 * focus goes to Cancel when it opens (the safe choice), Tab stays inside, Esc cancels, and focus
 * returns to what opened it. While `busy` the buttons are disabled and Esc does nothing.
 * Show the action's error in `error` (it stays open).
 *
 * @example
 *   <ConfirmDialog open={confirming} title="Reset to defaults?" confirmLabel="Reset" danger busy={resetting}
 *     error={resetError} onConfirm={reset} onCancel={() => setConfirming(false)}>
 *     Every setting goes back to the manifest's default and all secrets are cleared.
 *   </ConfirmDialog>
 */
import { useId, useRef, type ReactNode } from 'react';
import { Button } from './Button.tsx';
import { useModalDialog } from './use-modal-dialog.ts';

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel?: string;
  cancelLabel?: string;
  danger?: boolean;
  busy?: boolean;
  /** Shown inside the dialog (role=alert), e.g. the failed action's message. */
  error?: ReactNode;
  onConfirm: () => void;
  onCancel: () => void;
}

export function ConfirmDialog({ open, title, children, confirmLabel = 'Confirm', cancelLabel = 'Cancel', danger = false, busy = false, error, onConfirm, onCancel }: ConfirmDialogProps) {
  const cancelButton = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();
  // Focus starts on Cancel: the safe choice.
  const modal = useModalDialog({ open, busy, onDismiss: onCancel, initialFocus: () => cancelButton.current });

  return (
    <dialog
      ref={modal.ref}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={children ? bodyId : undefined}
      onKeyDown={modal.onKeyDown}
      onCancel={modal.onCancel}
      // Chromium closes a modal anyway on a repeated Esc: keep React's state in step.
      onClose={() => { if (open) onCancel(); }}
    >
      {open && (
        <div className="dialog-content">
          <h2 id={titleId} className="dialog-title">{title}</h2>
          {children && <div id={bodyId} className="dialog-body">{children}</div>}
          {error && <div className="form-error" role="alert">{error}</div>}
          <div className="dialog-actions">
            <Button ref={cancelButton} onClick={onCancel} disabled={busy}>{cancelLabel}</Button>
            <Button variant={danger ? 'danger' : 'primary'} busy={busy} onClick={onConfirm}>{confirmLabel}</Button>
          </div>
        </div>
      )}
    </dialog>
  );
}
