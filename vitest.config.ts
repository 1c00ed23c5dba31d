import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Service-backed and CLI tests share a single machine; keep parallelism modest.
    maxWorkers: 2,
    // Test files share their worker's modules instead of loading them again for each file (a third of
    // the suite's time went to imports). Tests leave nothing behind: environment variables stubbed
    // with vi.stubEnv are restored after each test.
    isolate: false,
    unstubEnvs: true,
    unstubGlobals: true,
  },
});
