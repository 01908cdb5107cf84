/**
 * The UI side of the typed contract between an extension's iframe UI and its handler (the
 * handler side is `router.api<Contract>()` in `@alga-psa/extension-runtime`): calls are keyed
 * by the manifest endpoint, and their body and answer are the contract's types.
 *
 * @example
 *   import type { NotesApi } from '../src/routes.ts';
 *   const api = createApi<NotesApi>();
 *   const { notes } = await api.call('GET /notes');
 *   const note = await api.call('POST /notes', { body: { text: 'hello' } });
 *   await api.call('DELETE /notes/:id', { params: { id: note.id } });
 */
import { splitRouteKey, type ApiContract, type ApiRequestOf, type ApiResponseOf } from '@alga-psa/extension-runtime/api-contract';
import { callProxyJson } from './client.ts';

type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}` ? Name | ParamNames<`/${Rest}`> : P extends `${string}:${infer Name}` ? Name : never;
type PathOf<K> = K extends `${string} ${infer P}` ? P : never;

export type ApiCallInput<K extends string, E> =
  & (ParamNames<PathOf<K>> extends never ? { params?: undefined } : { params: Record<ParamNames<PathOf<K>>, string> })
  & (ApiRequestOf<E> extends undefined ? { body?: undefined } : { body: ApiRequestOf<E> })
  & { timeoutMs?: number };

/** `{}` inputs may be left out. */
type OptionalIfEmpty<K extends string, E> = ParamNames<PathOf<K>> extends never ? (ApiRequestOf<E> extends undefined ? [input?: ApiCallInput<K, E>] : [input: ApiCallInput<K, E>]) : [input: ApiCallInput<K, E>];

export interface TypedApi<C extends ApiContract<C>> {
  call<K extends keyof C & string>(key: K, ...input: OptionalIfEmpty<K, C[K]>): Promise<ApiResponseOf<C[K]>>;
}

export function createApi<C extends ApiContract<C>>(): TypedApi<C> {
  return {
    call(key, ...rest) {
      const input = (rest[0] ?? {}) as { params?: Record<string, string>; body?: unknown; timeoutMs?: number };
      const [method, pattern] = splitRouteKey(key);
      const route = pattern.replace(/:([A-Za-z_][\w]*)/g, (_m, name: string) => {
        const value = input.params?.[name];
        if (value === undefined) throw new TypeError(`${key} needs params.${name}`);
        return encodeURIComponent(value);
      });
      return callProxyJson(route, input.body, { method, timeoutMs: input.timeoutMs });
    },
  };
}
