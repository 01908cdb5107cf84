/**
 * Zod without code generation, for the browser bundles: the pages the SDK runs in have no
 * 'unsafe-eval' in their CSP (the sandboxed UI, the admin console, the `alga component dev`
 * shell), and zod's JIT paths otherwise probe `new Function` the first time a schema is built,
 * which the page reports as a CSP violation. The bundles only use `zod/mini` (`protocol.ts`; the
 * path patterns come from the zod-free `@alga-psa/extension-contracts/path-pattern`), whose
 * schemas do not take that path, and `test/bundles.test.ts` keeps `Function` out of them; this
 * stays so that a schema added later cannot bring the probe back. Imported first by the entry
 * points, so the setting is in place before any module's schemas exist.
 *
 * @example
 *   import './zod-jitless.ts';   // the first import of an entry point
 */
import * as z from 'zod/mini';

z.config({ jitless: true });
