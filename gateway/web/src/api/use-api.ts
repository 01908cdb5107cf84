/**
 * Loading data for a page: `useApi(path)` GETs `path` through the API client when it changes,
 * aborts the request when the page goes away, and gives back `{ data, error, loading, reload }`.
 * Pair it with `<Loading>` and `<ErrorState onRetry={reload}>`. `null` as the path waits
 * (e.g. until another answer is known). For writes, call `api.post/put/del` directly and then
 * `reload()`.
 *
 * @example
 *   const installs = useApi<{ installs: Install[] }>('/api/v1/installs');
 *   if (installs.loading && !installs.data) return <Loading label="Loading installed extensions" />;
 *   if (installs.error) return <ErrorState error={installs.error} onRetry={installs.reload} />;
 *   return <InstallsTable installs={installs.data!.installs} />;
 */
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, type RequestOptions } from './client.ts';

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** True while a request is in flight (also during a reload, when `data` is the previous answer). */
  loading: boolean;
  reload(): void;
}

export function useApi<T>(path: string | null, query?: RequestOptions['query']): ApiState<T> {
  const queryKey = JSON.stringify(query ?? {});
  const key = `${path}?${queryKey}`;
  // Answers are kept with the request they answer: another path never shows the previous page's data.
  const [result, setResult] = useState<{ key: string; data?: T; error?: ApiError }>();
  const [inFlight, setInFlight] = useState(0);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    setInFlight((n) => n + 1);
    api.get<T>(path, { query: JSON.parse(queryKey) as RequestOptions['query'], signal: controller.signal }).then(
      (data) => { setResult({ key, data }); },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setResult({ key, error: err instanceof ApiError ? err : new ApiError(0, 'E_UNREACHABLE', String(err)) });
      },
    ).finally(() => setInFlight((n) => n - 1));
    return () => controller.abort();
  }, [path, queryKey, key, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const current = result?.key === key ? result : undefined;
  return { data: current?.data, error: current?.error, loading: path !== null && (inFlight > 0 || !current), reload };
}
