/**
 * Zod without code generation. The console's CSP has no 'unsafe-eval', and zod probes
 * `new Function` the first time it builds an object schema, which the browser reports as a CSP
 * violation. The shared contracts (`@alga-psa/extension-contracts/manifest`, `settings`) are zod
 * schemas, so this runs before any module defines one: it is `main.tsx`'s first import.
 * (The same switch as `sdk/extension-ui/src/zod-jitless.ts`, for the full `zod` entry.)
 */
import { config } from 'zod';

config({ jitless: true });
