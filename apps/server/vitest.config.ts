import base from "@nightshift/vitest-config/base";
import { defineConfig, mergeConfig } from "vitest/config";

// The fleet and server tests wait for events and fail when nothing progresses for STALL_MS
// (3 min, src/testing.ts), never on a time budget. Vitest's timeouts are hang guards only,
// longer than any of those watchdogs, so that a slow or busy machine is never what fails a run.
export default mergeConfig(
  base,
  defineConfig({ test: { testTimeout: 15 * 60_000, hookTimeout: 15 * 60_000 } }),
);
