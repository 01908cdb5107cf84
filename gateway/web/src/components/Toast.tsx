/**
 * Notices after an action ("Settings saved", "Could not revoke the key"): `useNotify()` gives
 * `notify({ tone, message })`. They appear in one live region (polite; errors assertive) at the
 * top right, go away after 6 s (errors stay until dismissed) and have a dismiss button.
 * Validation messages belong next to their fields, not here.
 *
 * @example
 *   const notify = useNotify();
 *   await api.put(...); notify({ tone: 'success', message: 'Settings saved' });
 */
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';

export type NoticeTone = 'success' | 'error' | 'info';
export interface Notice { id: number; tone: NoticeTone; message: string }

const NotifyContext = createContext<((notice: { tone?: NoticeTone; message: string }) => void) | null>(null);

export function NoticeProvider({ children }: { children: ReactNode }) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const nextId = useRef(1);
  const dismiss = useCallback((id: number) => setNotices((all) => all.filter((n) => n.id !== id)), []);
  const notify = useCallback(({ tone = 'info', message }: { tone?: NoticeTone; message: string }) => {
    const id = nextId.current++;
    setNotices((all) => [...all.slice(-4), { id, tone, message }]);
    if (tone !== 'error') setTimeout(() => dismiss(id), 6000);
  }, [dismiss]);
  const value = useMemo(() => notify, [notify]);
  return (
    <NotifyContext.Provider value={value}>
      {children}
      <div className="toasts" aria-live="polite" aria-relevant="additions">
        {notices.map((n) => (
          <div key={n.id} className={`toast toast-${n.tone}`} role={n.tone === 'error' ? 'alert' : 'status'}>
            <span className="toast-message">{n.message}</span>
            <button type="button" className="toast-dismiss" aria-label="Dismiss notification" onClick={() => dismiss(n.id)}>×</button>
          </div>
        ))}
      </div>
    </NotifyContext.Provider>
  );
}

export function useNotify(): (notice: { tone?: NoticeTone; message: string }) => void {
  const notify = useContext(NotifyContext);
  if (!notify) throw new Error('useNotify() outside <NoticeProvider>');
  return notify;
}
