import { defineConfig } from 'vitest/config';

export default defineConfig({
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
