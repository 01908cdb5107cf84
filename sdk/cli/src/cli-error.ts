/**
 * Failures the CLI reports: a stable `E_*` code, what went wrong, and what to do next.
 *
 * @example
 *   throw new CliError('E_NO_MANIFEST', `no manifest.json in ${dir}`, 'run `alga component new <dir>` or cd into a project');
 */
export class CliError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: unknown;

  constructor(code: string, message: string, hint?: string, details?: unknown) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.hint = hint;
    this.details = details;
  }
}

export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && /^E_[A-Z_]+$/.test(e.code)) return new CliError(e.code, String(e.message ?? e.code));
  return new CliError('E_INTERNAL', err instanceof Error ? err.message : String(err), 'this is a bug in alga; please report it with the command you ran');
}
