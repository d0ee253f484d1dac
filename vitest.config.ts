import { defineConfig } from 'vitest/config';

// Default test run: every `*.test.ts` under src/. Slow suites are named `*.slow.test.ts` and run
// only with `npm run test:slow`.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    exclude: ['src/**/*.slow.test.ts', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
