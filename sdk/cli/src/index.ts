/** The CLI's programmatic API, for tests, the benchmark and tools built on it. */
export { runCli } from './program.ts';
export { buildProject, type BuiltProject } from './commands/build.ts';
export { packProject, type PackedBundle } from './commands/pack.ts';
export { loadProject, type Project } from './commands/project.ts';
export { CliError } from './cli-error.ts';
