/**
 * The console's button. `variant`: primary (one per view: the main action), secondary
 * (default), danger (destructive), ghost (toolbar, low emphasis). `busy` disables it and shows a
 * spinner while an action runs, and keeps the label so the width does not jump. `type` defaults to
 * "button" (a form's submit button says `type="submit"`).
 * For navigation use `<Link className="button …">` from the router: a link, styled like a button.
 *
 * @example
 *   <Button variant="primary" busy={saving} onClick={save}>Save</Button>
 *   <Link to={paths.settings(id)} className="button button-secondary">Settings</Link>
 */
import type { ComponentPropsWithRef } from 'react';

export type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'ghost';

export interface ButtonProps extends ComponentPropsWithRef<'button'> {
  variant?: ButtonVariant;
  size?: 'md' | 'sm';
  busy?: boolean;
}

export function buttonClass(variant: ButtonVariant = 'secondary', size: 'md' | 'sm' = 'md'): string {
  return `button button-${variant}${size === 'sm' ? ' button-sm' : ''}`;
}

export function Button({ variant = 'secondary', size = 'md', busy = false, type = 'button', disabled, className, children, ...rest }: ButtonProps) {
  return (
    <button
      type={type}
      className={`${buttonClass(variant, size)}${className ? ` ${className}` : ''}`}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      {...rest}
    >
      {busy && <span className="spinner spinner-inline" aria-hidden="true" />}
      <span>{children}</span>
    </button>
  );
}
