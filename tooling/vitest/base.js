// Shared test settings. CI machines have two cores; property tests are CPU-bound, so keep
// worker counts small. A test decides by events and counts, never by how long something took:
// these timeouts are hang guards only, far beyond what a slow or busy machine needs, and longer
// than the testkit's own hang guard (HANG_MS), which says what a stuck test was waiting for.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    setupFiles: [fileURLToPath(new URL("./fast-check-seed.js", import.meta.url))],
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
    maxWorkers: process.env.CI ? 2 : undefined,
    // expect.poll waits for what it polls, as long as the testkit's hang guard (HANG_MS), not
    // vitest's default second: a page on a busy machine takes its time.
    expect: { poll: { timeout: 3 * 60_000 } },
  },
});
