import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Default test run: every `*.test.ts` under src/ and examples/. Slow suites are named `*.slow.test.ts`
// and run only with `npm run test:slow`. The examples import the package by name (`turnwise`,
// `turnwise/search-qa`), resolved to the sources as tsconfig.json's paths do.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^turnwise$/, replacement: source('./src/index.ts') },
      { find: /^turnwise\/search-qa$/, replacement: source('./src/tasks/search-qa/index.ts') },
      { find: /^turnwise\/testing$/, replacement: source('./src/testing/index.ts') },
    ],
  },
  test: {
    include: ['src/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['src/**/*.slow.test.ts', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
