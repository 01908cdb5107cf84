import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The guest SDK's unit tests run its JavaScript in Node against a stand-in for the generated host module.
    alias: { 'alga:host': fileURLToPath(new URL('./sdk/extension-runtime/test/support/host-double.ts', import.meta.url)) },
  },
  test: {
    include: ['sdk/*/test/**/*.test.ts', 'runner/test/**/*.test.ts', 'gateway/test/**/*.test.ts'],
    // Real components take seconds to build; tests share one cached build per run (test-setup/global.ts).
    globalSetup: ['./test-setup/global.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // 2-core machines: more parallel files only thrash the CPU that component builds need.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
