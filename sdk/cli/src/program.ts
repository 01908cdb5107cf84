/**
 * The `alga` command line (commander). Every command takes `--json` (one JSON document on
 * stdout, progress on stderr), exits non-zero on failure, and prints an `E_*` code with what
 * to do next.
 *
 * @example
 *   await runCli(['component', 'build', 'samples/hello', '--json']);   // returns the exit code
 */
import { Command, CommanderError } from 'commander';
import { toCliError } from './cli-error.ts';
import { createOutput, type Output } from './output.ts';
import { newCommand, templateNames } from './commands/new.ts';

// Each command's module is loaded only when it runs: `dev` and `test` bring the runner, PGlite
// and vitest, which an unchanged `build` (well under a second) must not pay for.
const buildCommand: typeof import('./commands/build.ts').buildCommand = async (...a) => (await import('./commands/build.ts')).buildCommand(...a);
const devCommand: typeof import('./commands/dev.ts').devCommand = async (...a) => (await import('./commands/dev.ts')).devCommand(...a);
const testCommand: typeof import('./commands/test.ts').testCommand = async (...a) => (await import('./commands/test.ts')).testCommand(...a);
const keysGenerate: typeof import('./commands/keys.ts').keysGenerate = async (...a) => (await import('./commands/keys.ts')).keysGenerate(...a);
const packCommand: typeof import('./commands/pack.ts').packCommand = async (...a) => (await import('./commands/pack.ts')).packCommand(...a);
const publishCommand: typeof import('./commands/publish.ts').publishCommand = async (...a) => (await import('./commands/publish.ts')).publishCommand(...a);
const signCommand: typeof import('./commands/sign.ts').signCommand = async (...a) => (await import('./commands/sign.ts')).signCommand(...a);
const versions: typeof import('./commands/version.ts').versions = async (...a) => (await import('./commands/version.ts')).versions(...a);

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CommanderError(2, 'E_USAGE', `--port ${value} is not a port number (0-65535)`);
  return port;
}

type Action<A extends unknown[]> = (out: Output, ...args: A) => Promise<void>;

export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('alga')
    .description('Build, test, run and publish Alga extensions (WebAssembly components written in TypeScript).')
    .option('--json', 'machine-readable output: one JSON document on stdout, progress on stderr')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  const run = <A extends unknown[]>(action: Action<A>) => async (...args: A) => {
    const out = createOutput({ json: Boolean(program.opts().json) });
    try {
      await action(out, ...args);
    } catch (err) {
      out.failure(toCliError(err));
      exitCode = 1;
    }
  };

  program.command('version').description('print the CLI, WIT package and toolchain versions').action(run(async (out) => {
    const v = await versions();
    out.result(v, Object.entries(v).map(([k, value]) => `${k.padEnd(14)} ${value}`));
  }));
  program.option('-V, --version', 'print the CLI, WIT package and toolchain versions');

  const component = program.command('component').description('work on an extension project');
  component.command('new <dir>').description('create a project from a template')
    .option('-t, --template <template>', `one of ${templateNames.join(', ')}`, 'component-basic')
    .option('-n, --name <name>', 'reverse-DNS extension name (default com.example.<dir>)')
    .option('-p, --publisher <publisher>', 'the publisher name your signing key is registered under')
    .action(run(async (out, dir: string, opts: { template: string; name?: string; publisher?: string }) => newCommand(dir, opts, out)));
  component.command('build [dirs...]').description('type check, bundle and componentize into dist/ (cached by content)')
    .option('--no-typecheck', 'skip the TypeScript type check')
    .action(run(async (out, dirs: string[], opts: { typecheck: boolean }) => buildCommand(dirs, opts, out)));
  component.command('dev [dir]').description('serve the extension locally from the real runner; rebuild and hot-swap on every save')
    .option('-p, --port <port>', 'port on 127.0.0.1 (0 picks a free one)', (v) => parsePort(v), 3000)
    .option('--host-routes <file>', 'JSON fixtures answering ui-proxy host routes: {"GET /host/tickets/:id": {"json": {…}}}')
    .option('--allow-private <cidr>', 'let outbound HTTP reach this private range (repeatable), e.g. 127.0.0.1/32 for a local mock API', (v, all: string[]) => [...all, v], [])
    .option('--reset', 'clear the local storage in .alga/storage first')
    .option('--no-typecheck', 'skip the TypeScript type check on rebuilds')
    .action(run(async (out, dir: string | undefined, opts: { port: number; hostRoutes?: string; allowPrivate: string[]; reset?: boolean; typecheck: boolean }) => devCommand(dir, opts, out)));
  component.command('test [dir]').description('build, then run the project\'s tests against the built component (vitest + the local test host)')
    .option('-f, --filter <text>', 'only test files whose path contains this text (repeatable)', (v, all: string[]) => [...all, v], [])
    .option('--no-typecheck', 'skip the TypeScript type check')
    .action(run(async (out, dir: string | undefined, opts: { filter: string[]; typecheck: boolean }) => testCommand(dir, opts.filter, opts, out)));
  component.command('pack [dir]').description('build, then pack dist/<name>-<version>.tar.gz and print its sha256')
    .option('--no-typecheck', 'skip the TypeScript type check')
    .action(run(async (out, dir: string | undefined, opts: { typecheck: boolean }) => packCommand(dir, opts, out)));
  component.command('sign [bundle]').description('sign a packed bundle (writes <bundle>.sig)')
    .requiredOption('-k, --key <file>', 'Ed25519 private key from `alga keys generate`')
    .action(run(async (out, bundle: string | undefined, opts: { key: string }) => signCommand(bundle, opts, out)));
  component.command('publish [dir]').description('build, pack, sign and publish to a gateway; optionally install it')
    .requiredOption('-g, --gateway <url>', 'gateway URL, e.g. http://127.0.0.1:8080')
    .requiredOption('--key-id <id>', 'the key id your public key is registered under')
    .requiredOption('-k, --key <file>', 'Ed25519 private key from `alga keys generate`')
    .option('--install', "install (or upgrade) it for the API key's tenant")
    .option('--api-key <key>', 'tenant admin API key, for --install')
    .option('--consent', 'consent to what a new version asks for beyond the installed one')
    .option('--no-typecheck', 'skip the TypeScript type check')
    .action(run(async (out, dir: string | undefined, opts) => publishCommand(dir, opts, out)));

  const keys = program.command('keys').description('publisher signing keys');
  keys.command('generate').description('create an Ed25519 key pair (private key file mode 0600)')
    .option('-o, --out <dir>', 'where to write alga-publisher.key and alga-publisher.pub', '.')
    .option('--force', 'replace an existing key file')
    .action(run(async (out, opts: { out: string; force?: boolean }) => keysGenerate(opts, out)));

  if (argv.includes('-V') || (argv.includes('--version') && !argv.some((a) => !a.startsWith('-')))) {
    argv = ['version', ...argv.filter((a) => a !== '-V' && a !== '--version')];
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return exitCode;
}
