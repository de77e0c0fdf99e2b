import base from "@nightshift/vitest-config/base";
import { defineConfig, mergeConfig } from "vitest/config";

// Each file starts its own servers and PostgreSQL and loads them hard: one file at a time, or
// they would measure each other.
export default mergeConfig(
  base,
  defineConfig({ test: { fileParallelism: false, testTimeout: 180_000, hookTimeout: 120_000 } }),
);
