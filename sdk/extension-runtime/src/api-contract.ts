/**
 * One typed contract between an extension's iframe UI and its handler: a TypeScript interface
 * whose keys are the manifest's endpoints (`'POST /notes'`) and whose values name the JSON
 * request and response. The handler implements it with `router.api<Contract>({...})`; the UI
 * calls it with `createApi<Contract>()` from `@alga-psa/extension-ui/client`. Change a type on
 * one side and the other no longer compiles.
 *
 * @example
 *   // src/routes.ts (imported by src/index.ts and by ui/main.ts)
 *   export interface NotesApi {
 *     'GET /notes': { response: { notes: Note[] } };
 *     'POST /notes': { request: { text: string }; response: Note };
 *   }
 *   // src/index.ts
 *   createRouter().api<NotesApi>({
 *     'GET /notes': async ({ ctx }) => ({ notes: await load(ctx) }),
 *     'POST /notes': async ({ body, ctx }) => add(ctx, body.text),
 *   });
 */
export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type ApiRouteKey = `${ApiMethod} /${string}`;

/**
 * A contract: endpoint key (`'METHOD /path'`) → `{ request?, response }` (JSON-serialisable
 * types). Written as `C extends ApiContract<C>` so a plain interface qualifies (interfaces have
 * no index signature).
 */
export type ApiContract<C> = { [K in keyof C]: K extends ApiRouteKey ? { request?: unknown; response: unknown } : never };

export type ApiRequestOf<E> = E extends { request: infer R } ? R : undefined;
export type ApiResponseOf<E> = E extends { response: infer R } ? R : never;

/** `'DELETE /notes/:id'` → `['DELETE', '/notes/:id']`. */
export function splitRouteKey(key: string): [ApiMethod, string] {
  const space = key.indexOf(' ');
  const method = key.slice(0, space) as ApiMethod;
  const path = key.slice(space + 1);
  if (space < 0 || !['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method) || !path.startsWith('/')) {
    throw new TypeError(`route key ${JSON.stringify(key)} must be "METHOD /path"`);
  }
  return [method, path];
}
