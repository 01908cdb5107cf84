/**
 * Where a command's words go: progress and human output on stderr/stdout, or, with `--json`,
 * exactly one JSON document on stdout (progress still on stderr), so scripts can parse it.
 *
 * @example
 *   const out = createOutput({ json: opts.json });
 *   out.progress('bundling src/index.ts');
 *   out.result({ componentPath }, `built ${componentPath}`);
 */
import type { CliError } from './cli-error.ts';

export interface Output {
  readonly json: boolean;
  /** A progress line (stderr). */
  progress(line: string): void;
  /** The command's result: the JSON document, or the human lines. */
  result(value: object, human: string | string[]): void;
  /** A failure: `error E_X: message` and what to do next, or `{ ok: false, error }`. */
  failure(error: CliError): void;
}

export function createOutput(options: { json?: boolean; quiet?: boolean } = {}, streams = { out: process.stdout, err: process.stderr }): Output {
  const json = Boolean(options.json);
  return {
    json,
    progress(line) {
      if (!options.quiet) streams.err.write(`${line}\n`);
    },
    result(value, human) {
      if (json) streams.out.write(`${JSON.stringify({ ok: true, ...value })}\n`);
      else streams.out.write(`${([] as string[]).concat(human).join('\n')}\n`);
    },
    failure(error) {
      if (json) {
        streams.out.write(`${JSON.stringify({ ok: false, error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), ...(error.details !== undefined ? { details: error.details } : {}) } })}\n`);
        return;
      }
      streams.err.write(`error ${error.code}: ${error.message}\n`);
      if (error.hint) streams.err.write(`  → ${error.hint}\n`);
    },
  };
}
