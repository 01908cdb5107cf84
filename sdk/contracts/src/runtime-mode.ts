/**
 * The one rule both services use to tell production from a development setup, so the gateway
 * and the runner can never disagree about whether missing credentials may be generated.
 *
 * Rule: production when `NODE_ENV=production`. Unset, `development` or `test` is a development
 * setup (embedded defaults, generated credentials). Any other value stops start-up: a typo such
 * as `NODE_ENV=prod` must not quietly turn a production deployment into a development one.
 *
 * @example
 *   const mode = runtimeMode(process.env);
 *   const problems = missingInProduction(mode, [
 *     { variable: 'ALGA_OPERATOR_TOKEN', present: Boolean(env.ALGA_OPERATOR_TOKEN), meaning: 'the operator API credential' },
 *   ]);
 *   if (problems.length > 0) throw new Error(problems.join('\n'));
 */

export type RuntimeMode = 'production' | 'development';

type Env = Record<string, string | undefined>;

const developmentValues = new Set(['development', 'test']);

/** The mode `env` selects; throws, naming NODE_ENV, for a value that is neither. */
export function runtimeMode(env: Env = process.env): RuntimeMode {
  const value = env.NODE_ENV?.trim();
  if (!value || developmentValues.has(value)) return 'development';
  if (value === 'production') return 'production';
  throw new Error(`NODE_ENV must be "production", "development", "test" or unset, not "${value.slice(0, 40)}"`);
}

export interface ProductionRequirement {
  /** The environment variable that supplies it. */
  variable: string;
  present: boolean;
  /** What it is, for the operator reading the error. */
  meaning: string;
}

/**
 * One line per requirement that is not met, each naming the variable to set; none outside
 * production. Production never generates or creates a credential in its place.
 */
export function missingInProduction(mode: RuntimeMode, requirements: ProductionRequirement[]): string[] {
  if (mode !== 'production') return [];
  return requirements.filter((r) => !r.present)
    .map((r) => `${r.variable} must be set in production (NODE_ENV=production): ${r.meaning}; nothing is generated in its place`);
}

/**
 * Collects every start-up problem of a service's main, so the operator sees them all at once,
 * each naming the variable to set, and then exits non-zero.
 *
 * @example
 *   const startup = startupChecks('alga runner');
 *   const config = startup.attempt(() => runnerConfigFromEnv());
 *   if (!config) startup.refuse();
 */
export function startupChecks(service: string) {
  const problems: string[] = [];
  const refuse = (extra: string[] = []): never => {
    process.stderr.write(`${service}: cannot start:\n${[...problems, ...extra].map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(1);
  };
  return {
    problems,
    refuse,
    attempt<T>(read: () => T): T | undefined {
      try {
        return read();
      } catch (err) {
        problems.push((err as Error).message);
        return undefined;
      }
    },
  };
}
