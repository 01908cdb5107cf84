/**
 * The install's kill switch: a `role="switch"` button whose label stays "Enabled" (its state is
 * `aria-checked`, shown by the track), named after the extension for screen readers. Turning it
 * off refuses the install's very next API call (404 E_INSTALL_DISABLED).
 */
export function EnabledSwitch({ name, enabled, busy, onToggle }: { name: string; enabled: boolean; busy: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={enabled}
      aria-busy={busy || undefined}
      disabled={busy}
      className="switch"
      onClick={onToggle}
    >
      <span className="switch-track" aria-hidden="true"><span className="switch-thumb" /></span>
      <span className="switch-label">Enabled<span className="visually-hidden"> for {name}</span></span>
    </button>
  );
}
