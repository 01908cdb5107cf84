import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const hardening = 'gateway/test/hardening/**/*.test.ts';

export default defineConfig({
  resolve: {
    // The guest SDK's unit tests run its JavaScript in Node against a stand-in for the generated host module.
    alias: { 'alga:host': fileURLToPath(new URL('./sdk/extension-runtime/test/support/host-double.ts', import.meta.url)) },
  },
  test: {
    // Real components take seconds to build; tests share one cached build per run (test-setup/global.ts).
    globalSetup: ['./test-setup/global.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // 2-core machines: more parallel files only thrash the CPU that component builds need.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['sdk/*/test/**/*.test.ts', 'runner/test/**/*.test.ts', 'gateway/test/**/*.test.ts'], exclude: [hardening], sequence: { groupOrder: 0 } },
      },
      {
        // The hardening suite saturates both cores on purpose (load, faults): it runs after the
        // rest, so its load never starves a browser test's timeouts, and its figures are its own.
        extends: true,
        test: { name: 'hardening', include: [hardening], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
