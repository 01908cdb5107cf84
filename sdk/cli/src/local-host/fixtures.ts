/**
 * Canned answers for what the local host cannot reach: host (platform) routes behind
 * `ctx.uiProxy` in `alga component dev --host-routes FILE`, and outbound HTTP in
 * `loadExtension({ http })`. One answer shape for both.
 *
 * Keys are `"METHOD /path/:param"` for host routes (the manifest's `uiProxy.routes` format) and
 * `"METHOD https://host/path"` for HTTP. String values of an answer may name route params as
 * `{{param}}`; they are filled in from the call.
 *
 * @example
 *   const routes = parseFixtures({ 'GET /host/tickets/:id': { json: { id: '{{id}}', title: 'Printer on fire' } } }, 'host route');
 *   matchHostRoute(routes, 'GET', '/host/tickets/42');
 *   // { status: 200, headers: [['content-type', 'application/json; charset=utf-8']], body: Uint8Array('{"id":"42",…}') }
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { compilePathPattern, type PathMatcher } from '@alga-psa/extension-contracts';
import { CliError } from '../cli-error.ts';

export const fixtureAnswerSchema = z.strictObject({
  status: z.number().int().min(100).max(599).default(200),
  headers: z.record(z.string(), z.string()).default({}),
  /** A JSON body (content-type set for you). */
  json: z.unknown().optional(),
  /** A text body. */
  text: z.string().optional(),
  /** A body in base64 (binary answers). */
  bodyB64: z.string().optional(),
}).refine((a) => [a.json, a.text, a.bodyB64].filter((b) => b !== undefined).length <= 1, 'give at most one of json, text, bodyB64');

export type FixtureAnswerInput = z.input<typeof fixtureAnswerSchema>;
export type FixtureAnswer = z.output<typeof fixtureAnswerSchema>;
export type FixtureMap = Record<string, FixtureAnswerInput>;

export interface FixtureResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

interface CompiledFixture {
  key: string;
  method: string;
  /** Host routes: a path matcher; HTTP: the exact URL (query included when the key has one). */
  match: PathMatcher | URL;
  answer: FixtureAnswer;
}

export interface Fixtures {
  readonly entries: readonly CompiledFixture[];
}

/** Validates a fixture map; `kind` says what the keys are ('host route' | 'http'). */
export function parseFixtures(input: unknown, kind: 'host route' | 'http', source = 'fixtures'): Fixtures {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new CliError('E_VALIDATION', `${source} must be a JSON object of "METHOD ${kind === 'http' ? 'https://host/path' : '/path'}" → answer`);
  }
  const entries: CompiledFixture[] = [];
  for (const [key, raw] of Object.entries(input)) {
    const m = /^([A-Z]{1,16}) (\S+)$/.exec(key);
    if (!m) throw new CliError('E_VALIDATION', `${source}: key ${JSON.stringify(key)} must be "METHOD ${kind === 'http' ? 'https://host/path' : '/path/:param'}"`);
    const parsed = fixtureAnswerSchema.safeParse(raw ?? {});
    if (!parsed.success) throw new CliError('E_VALIDATION', `${source}: ${key}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'answer'} ${i.message}`).join('; ')}`);
    let match: PathMatcher | URL;
    try {
      match = kind === 'http' ? new URL(m[2]) : compilePathPattern(m[2]);
    } catch (err) {
      throw new CliError('E_VALIDATION', `${source}: key ${JSON.stringify(key)}: ${(err as Error).message}`);
    }
    entries.push({ key, method: m[1], match, answer: parsed.data });
  }
  return { entries };
}

export async function readFixtureFile(path: string, kind: 'host route' | 'http'): Promise<Fixtures> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('E_NOT_FOUND', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, `create it, e.g. {"GET /host/tickets/:id": {"json": {"id": "{{id}}"}}}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError('E_VALIDATION', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseFixtures(json, kind, path);
}

const encoder = new TextEncoder();

function fill(value: unknown, params: Record<string, string>): unknown {
  if (typeof value === 'string') return value.replace(/\{\{([A-Za-z0-9_*]+)\}\}/g, (all, name: string) => params[name] ?? all);
  if (Array.isArray(value)) return value.map((v) => fill(v, params));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, params)]));
  return value;
}

function respond(answer: FixtureAnswer, params: Record<string, string>): FixtureResponse {
  const headers: Array<[string, string]> = Object.entries(answer.headers).map(([k, v]) => [k.toLowerCase(), v]);
  const has = (name: string) => headers.some(([k]) => k === name);
  let body = new Uint8Array();
  if (answer.json !== undefined) {
    body = encoder.encode(JSON.stringify(fill(answer.json, params)));
    if (!has('content-type')) headers.push(['content-type', 'application/json; charset=utf-8']);
  } else if (answer.text !== undefined) {
    body = encoder.encode(String(fill(answer.text, params)));
    if (!has('content-type')) headers.push(['content-type', 'text/plain; charset=utf-8']);
  } else if (answer.bodyB64 !== undefined) {
    body = new Uint8Array(Buffer.from(answer.bodyB64, 'base64'));
  }
  return { status: answer.status, headers, body };
}

/** The answer for a host-route call (`route` may carry a query), or undefined. */
export function matchHostRoute(fixtures: Fixtures, method: string, route: string): FixtureResponse | undefined {
  const path = route.split('?')[0];
  for (const f of fixtures.entries) {
    if (f.method !== method || f.match instanceof URL) continue;
    const params = f.match(path);
    if (params) return respond(f.answer, params);
  }
  return undefined;
}

/** The answer for an outbound call: same method, origin and path; the query must match when the key gives one. */
export function matchHttp(fixtures: Fixtures, method: string, url: string): FixtureResponse | undefined {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return undefined;
  }
  for (const f of fixtures.entries) {
    if (f.method !== method || !(f.match instanceof URL)) continue;
    const key = f.match;
    if (key.origin !== target.origin || key.pathname !== target.pathname) continue;
    if (key.search !== '' && key.search !== target.search) continue;
    return respond(f.answer, {});
  }
  return undefined;
}
