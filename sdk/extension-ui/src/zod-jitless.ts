/**
 * Zod without code generation, for the browser bundles: the pages the SDK runs in have no
 * 'unsafe-eval' in their CSP (the sandboxed UI, the admin console, the `alga component dev`
 * shell), and zod otherwise probes `new Function` the first time a schema is built, which the
 * page reports as a CSP violation. Imported first by the entry points, so the setting is in
 * place before any module's schemas (ours, or the manifest's from extension-contracts) exist.
 *
 * @example
 *   import './zod-jitless.ts';   // the first import of an entry point
 */
import * as z from 'zod/mini';

z.config({ jitless: true });
