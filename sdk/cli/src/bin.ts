/** Entry of the `alga` command (started by bin/alga.mjs on a Node that can run it). */
import { enableCompileCache } from 'node:module';

// V8's compiled code for the CLI's modules (TypeScript's 9 MB among them) kept on disk between
// runs, as `tsc` does: a command and its build children start in about half the time. Enabled
// before anything else loads; the children get the directory through NODE_COMPILE_CACHE.
enableCompileCache?.();
const { runCli } = await import('./program.ts');

process.exitCode = await runCli(process.argv.slice(2));
