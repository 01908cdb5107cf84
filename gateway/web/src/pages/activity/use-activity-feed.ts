/**
 * A live, pageable list of activity rows (executions or guest log lines), newest first, from an
 * endpoint answering `{ <items>: T[], nextBefore: number | null }` with `limit`, `before` and
 * `after` (row ids; see `gateway/src/installs/activity-service.ts`).
 *
 * - The first page loads when `path` or `query` changes (the filters); the old rows go at once.
 * - While `live` and the tab is visible (`document.visibilityState`), it asks every `intervalMs`
 *   for rows newer than the newest it has (`after=<id>`) and puts them on top. A failed poll is
 *   kept in `pollError` and retried with back-off; the rows stay.
 * - Rows still in progress (`isPending`, e.g. an execution whose status is not written yet) are
 *   fetched again by the next polls until they settle, for a minute at most.
 * - `loadOlder()` appends the page before the oldest row (`before=nextBefore`).
 * - `announcement` says how many rows the last poll added ("3 new executions"), for a polite
 *   live region; `freshIds` are those rows (marked "New" for a few seconds).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, type RequestOptions } from '../../api/client.ts';

export interface ActivityRow { id: number; at: string }

export interface FeedOptions<T extends ActivityRow> {
  path: string;
  /** The answer's list property: 'executions' or 'logs'. */
  items: string;
  /** Filters and `limit`; undefined values are left out. */
  query: Record<string, string | number | undefined>;
  live: boolean;
  intervalMs?: number;
  isPending?: (row: T) => boolean;
  /** "1 new execution" / "3 new executions". */
  describeNew: (count: number) => string;
}

export interface FeedState<T> {
  rows: T[];
  /** The first page is loading (or reloading after a filter change). */
  loading: boolean;
  error: ApiError | undefined;
  hasOlder: boolean;
  loadingOlder: boolean;
  olderError: ApiError | undefined;
  pollError: ApiError | undefined;
  freshIds: ReadonlySet<number>;
  /** Changes identity with each announcement, so the same words are announced again. */
  announcement: { text: string; seq: number };
  loadOlder(): void;
  reload(): void;
}

interface Page<T> { rows: T[]; nextBefore: number | null }

interface Feed<T> {
  key: string;
  loaded: boolean;
  rows: T[];
  nextBefore: number | null;
  error?: ApiError;
  pollError?: ApiError;
}

const pendingWindowMs = 60_000;
const freshForMs = 8_000;
const maxBackoffMs = 30_000;

const asApiError = (err: unknown) => (err instanceof ApiError ? err : new ApiError(0, 'E_UNREACHABLE', String(err)));

export function useActivityFeed<T extends ActivityRow>(options: FeedOptions<T>): FeedState<T> {
  const { path, items, live, intervalMs = 2000 } = options;
  const queryKey = JSON.stringify(options.query);
  const [generation, setGeneration] = useState(0);
  const key = `${path}?${queryKey}#${generation}`;
  const [feed, setFeed] = useState<Feed<T>>({ key: '', loaded: false, rows: [], nextBefore: null });
  const current: Feed<T> = feed.key === key ? feed : { key, loaded: false, rows: [], nextBefore: null };
  const [older, setOlder] = useState<{ key: string; loading: boolean; error?: ApiError }>({ key: '', loading: false });
  const [fresh, setFresh] = useState<{ ids: ReadonlySet<number>; announcement: { text: string; seq: number } }>({ ids: new Set(), announcement: { text: '', seq: 0 } });

  // The latest values for the timers, which outlive renders.
  const latest = useRef({ current, options });
  useEffect(() => { latest.current = { current, options }; });
  const lastFetchAt = useRef(0);

  const fetchPage = useCallback(async (extra: RequestOptions['query'], signal: AbortSignal): Promise<Page<T>> => {
    const query = { ...(JSON.parse(queryKey) as Record<string, string | number | undefined>), ...extra };
    const answer = await api.get<Record<string, unknown>>(path, { query, signal });
    return { rows: (answer[items] as T[] | undefined) ?? [], nextBefore: (answer.nextBefore as number | null | undefined) ?? null };
  }, [path, queryKey, items]);

  // The first page, again whenever the filters change.
  useEffect(() => {
    const controller = new AbortController();
    lastFetchAt.current = Date.now();
    fetchPage({}, controller.signal).then(
      (page) => setFeed({ key, loaded: true, rows: page.rows, nextBefore: page.nextBefore }),
      (err: unknown) => { if (!controller.signal.aborted) setFeed({ key, loaded: false, rows: [], nextBefore: null, error: asApiError(err) }); },
    );
    setFresh((f) => ({ ...f, ids: new Set() }));
    return () => controller.abort();
  }, [key, fetchPage]);

  // Live: poll for newer rows while visible.
  const loaded = current.loaded;
  useEffect(() => {
    if (!live || !loaded) return;
    let stopped = false;
    let inFlight = false;
    let failures = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;

    const schedule = (ms: number) => { clearTimeout(timer); timer = setTimeout(() => void tick(), Math.max(0, ms)); };
    const tick = async () => {
      if (stopped || inFlight || document.visibilityState !== 'visible') return;
      inFlight = true;
      controller = new AbortController();
      const { current: snapshot, options: opts } = latest.current;
      const newestKnown = snapshot.rows[0]?.id;
      // Rows still in progress are fetched again: ask from just before the oldest recent one.
      const now = Date.now();
      const pending = opts.isPending ? snapshot.rows.filter((r) => opts.isPending!(r) && now - new Date(r.at).getTime() < pendingWindowMs) : [];
      const from = pending.length > 0 ? Math.min(...pending.map((r) => r.id)) - 1 : newestKnown;
      lastFetchAt.current = now;
      try {
        const page = await fetchPage(from !== undefined && from >= 1 ? { after: from } : {}, controller.signal);
        if (stopped) return;
        failures = 0;
        const knownNow = new Set(latest.current.current.rows.map((r) => r.id));
        const added = page.rows.filter((r) => !knownNow.has(r.id)).map((r) => r.id);
        setFeed((f) => {
          if (f.key !== key) return f;
          const known = new Map(f.rows.map((r) => [r.id, r]));
          const oldestReturned = page.rows.at(-1)?.id;
          const newest = f.rows[0]?.id;
          // A full page that does not reach back to what we have: there may be a gap, start over from this page.
          if (page.nextBefore !== null && oldestReturned !== undefined && (newest === undefined || oldestReturned > newest)) {
            return { ...f, rows: page.rows, nextBefore: page.nextBefore, pollError: undefined };
          }
          const updated = new Map(page.rows.map((r) => [r.id, r]));
          const changed = page.rows.some((r) => JSON.stringify(known.get(r.id)) !== JSON.stringify(r));
          if (!changed && !f.pollError) return f;
          const rows = [...page.rows.filter((r) => !known.has(r.id)), ...f.rows.map((r) => updated.get(r.id) ?? r)].sort((a, b) => b.id - a.id);
          return { ...f, rows, pollError: undefined };
        });
        if (added.length > 0) {
          setFresh((f) => ({ ids: new Set(added), announcement: { text: opts.describeNew(added.length), seq: f.announcement.seq + 1 } }));
        }
        inFlight = false;
        schedule(intervalMs);
      } catch (err) {
        inFlight = false;
        if (stopped || controller.signal.aborted) return;
        failures += 1;
        setFeed((f) => (f.key === key ? { ...f, pollError: asApiError(err) } : f));
        schedule(Math.min(maxBackoffMs, intervalMs * 2 ** failures));
      }
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') schedule(0);
      else clearTimeout(timer);
    };
    // Right after a load (or on resume, at once if the last look is older than the interval).
    schedule(intervalMs - (Date.now() - lastFetchAt.current));
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [live, loaded, key, fetchPage, intervalMs]);

  // "New" marks fade after a few seconds.
  useEffect(() => {
    if (fresh.ids.size === 0) return;
    const timer = setTimeout(() => setFresh((f) => ({ ...f, ids: new Set() })), freshForMs);
    return () => clearTimeout(timer);
  }, [fresh.ids]);

  // Older pages.
  const olderController = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => olderController.current?.abort(), [key]);
  const loadOlder = useCallback(() => {
    const { current: snapshot } = latest.current;
    if (snapshot.nextBefore === null) return;
    olderController.current?.abort();
    const controller = new AbortController();
    olderController.current = controller;
    setOlder({ key, loading: true });
    fetchPage({ before: snapshot.nextBefore }, controller.signal).then(
      (page) => {
        setFeed((f) => {
          if (f.key !== key) return f;
          const known = new Set(f.rows.map((r) => r.id));
          return { ...f, rows: [...f.rows, ...page.rows.filter((r) => !known.has(r.id))], nextBefore: page.nextBefore };
        });
        setOlder({ key, loading: false });
      },
      (err: unknown) => { if (!controller.signal.aborted) setOlder({ key, loading: false, error: asApiError(err) }); },
    );
  }, [key, fetchPage]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const olderNow = older.key === key ? older : { loading: false, error: undefined };

  return {
    rows: current.rows,
    loading: !current.loaded && !current.error,
    error: current.error,
    hasOlder: current.nextBefore !== null,
    loadingOlder: olderNow.loading,
    olderError: olderNow.error,
    pollError: current.pollError,
    freshIds: fresh.ids,
    announcement: fresh.announcement,
    loadOlder,
    reload,
  };
}
