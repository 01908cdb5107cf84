/** `alga:extension/log` (cap:log.emit, always granted): structured guest logs, bounded and redacted by the core. */
import type { CapabilityProvider, LogLevel } from './provider.ts';

const levels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export const logProvider: CapabilityProvider<null> = {
  capability: 'cap:log.emit',
  witInterface: 'log',
  asyncFunctions: [],
  configure: () => null,
  bind: (scope) => ({
    emit: (level: string, message: string, fields: Array<[string, string]>) => {
      const lvl = levels.includes(level as LogLevel) ? (level as LogLevel) : 'info';
      scope.log(lvl, String(message), Object.fromEntries((fields ?? []).map(([k, v]) => [String(k), String(v)])));
    },
  }),
  denied: () => ({ emit: () => {} }),
};
