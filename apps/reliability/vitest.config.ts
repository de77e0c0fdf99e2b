import base from "@nightshift/vitest-config/base";
import { defineConfig, mergeConfig } from "vitest/config";

// Each file starts its own servers and PostgreSQL and loads them hard: one file at a time, or
// they would measure each other. The tests decide by counts and fail when nothing progresses
// for STALL_MS (3 min, @nightshift/server-testkit/serve); vitest's timeouts are hang guards only,
// far longer, so that a slow or busy machine is never what fails a run.
export default mergeConfig(
  base,
  defineConfig({
    test: { fileParallelism: false, testTimeout: 30 * 60_000, hookTimeout: 15 * 60_000 },
  }),
);
