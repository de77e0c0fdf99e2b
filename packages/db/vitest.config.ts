import base from "@nightshift/vitest-config/base";
import { defineConfig, mergeConfig } from "vitest/config";

// These tests start and stop embedded PostgreSQL servers, which take a while on a busy machine
// (embedded.ts gives a start 60 s of its own). Vitest's timeouts are hang guards only, so that a
// slow machine is never what fails a run.
export default mergeConfig(
  base,
  defineConfig({ test: { testTimeout: 10 * 60_000, hookTimeout: 10 * 60_000 } }),
);
