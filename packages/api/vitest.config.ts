import base from "@nightshift/vitest-config/base";
import { defineConfig, mergeConfig } from "vitest/config";

// The API's tests read a clock that moves only when read or told (test/harness.ts) and wait for
// events, failing when nothing progresses for STALL_MS (3 min). Vitest's timeouts are hang guards
// only, longer than that, so that a slow or busy machine is never what fails a run.
export default mergeConfig(
  base,
  defineConfig({ test: { testTimeout: 10 * 60_000, hookTimeout: 10 * 60_000 } }),
);
