import base from "@nightshift/vitest-config/base";
import { defineConfig, mergeConfig } from "vitest/config";

// The browser tests share one production build and one Nightshift server (test/global-setup.ts);
// they run one file at a time, since each drives a Chromium on a small machine.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      globalSetup: ["test/global-setup.ts"],
      fileParallelism: false,
      testTimeout: 120_000,
      hookTimeout: 180_000,
    },
  }),
);
