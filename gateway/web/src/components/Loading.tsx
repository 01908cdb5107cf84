/**
 * A loading placeholder: a spinner and a label that screen readers announce (role=status).
 * `inline` for inside a table cell or a line of text.
 *
 * @example
 *   if (state.loading && !state.data) return <Loading label="Loading installed extensions" />;
 */
export function Loading({ label = 'Loading', inline = false }: { label?: string; inline?: boolean }) {
  return (
    <div className={inline ? 'loading loading-inline' : 'loading'} role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span className="loading-label">{label}…</span>
    </div>
  );
}
