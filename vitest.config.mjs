import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // unit: the glue's JavaScript on its own, in Node; e2e: the built worker.
    include: ["tests/unit/**/*.test.mjs", "tests/e2e/**/*.test.mjs"],
    // Each e2e file starts its own workerd; two at a time fits a 2-core machine.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
