// Shared test settings. CI machines have two cores; property tests are CPU-bound, so keep
// worker counts small and give slow properties room instead of flaking.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: process.env.CI ? 2 : undefined,
  },
});
