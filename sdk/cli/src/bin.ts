/** Entry of the `alga` command (started by bin/alga.mjs on a Node that can run it). */
import { runCli } from './program.ts';

process.exitCode = await runCli(process.argv.slice(2));
