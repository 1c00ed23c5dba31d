import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Service-backed and CLI tests share a single machine; keep parallelism modest.
    maxWorkers: 2,
  },
});
