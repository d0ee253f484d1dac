import { defineConfig } from 'vitest/config';

// Slow suites (`*.slow.test.ts`): long training runs, tier-M data, benchmarks' sanity checks.
export default defineConfig({
  test: {
    include: ['src/**/*.slow.test.ts'],
    pool: 'forks',
    testTimeout: 1_800_000,
  },
});
