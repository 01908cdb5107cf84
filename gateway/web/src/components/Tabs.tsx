/**
 * Tabs that live in the URL (`?tab=…`, so a tab can be linked and survives reload): an ARIA
 * tablist with arrow-key, Home and End navigation. Render the active panel as the children; it
 * is labelled by its tab.
 *
 * @example
 *   const tab = useSearchParam('tab') === 'available' ? 'available' : 'installed';
 *   <Tabs label="Extensions" tabs={[{ id: 'installed', label: 'Installed', count: 3 }, { id: 'available', label: 'Available' }]}
 *     active={tab} onChange={(id) => setSearchParam('tab', id)}>
 *     {tab === 'installed' ? <InstalledList /> : <AvailableList />}
 *   </Tabs>
 */
import { useId, useRef, type KeyboardEvent, type ReactNode } from 'react';

export interface TabSpec { id: string; label: string; count?: number }

export function Tabs({ label, tabs, active, onChange, children }: { label: string; tabs: TabSpec[]; active: string; onChange: (id: string) => void; children: ReactNode }) {
  const base = useId();
  const refs = useRef<Array<HTMLButtonElement | null>>([]);
  const index = Math.max(0, tabs.findIndex((t) => t.id === active));
  const move = (to: number) => {
    const next = (to + tabs.length) % tabs.length;
    onChange(tabs[next].id);
    refs.current[next]?.focus();
  };
  const onKeyDown = (event: KeyboardEvent) => {
    const keys: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    if (event.key in keys) { event.preventDefault(); move(keys[event.key]); }
  };
  return (
    <div className="tabs">
      <div className="tab-list" role="tablist" aria-label={label} onKeyDown={onKeyDown}>
        {tabs.map((t, i) => (
          <button
            key={t.id}
            ref={(el) => { refs.current[i] = el; }}
            type="button"
            role="tab"
            id={`${base}-tab-${t.id}`}
            aria-selected={i === index}
            aria-controls={`${base}-panel`}
            tabIndex={i === index ? 0 : -1}
            className="tab"
            onClick={() => onChange(t.id)}
          >
            {t.label}
            {t.count !== undefined && <span className="tab-count">{t.count}</span>}
          </button>
        ))}
      </div>
      <div className="tab-panel" role="tabpanel" id={`${base}-panel`} aria-labelledby={`${base}-tab-${tabs[index]?.id}`}>
        {children}
      </div>
    </div>
  );
}
