// The console's tests drive the production build in a real Chromium against a real server:
// one build (test/global-setup.ts), one file at a time, generous time limits for 2 busy cores.
import { fileURLToPath } from "node:url";
import base from "@nightshift/vitest-config/base";
import { defineConfig, mergeConfig } from "vitest/config";

export default mergeConfig(
  base,
  defineConfig({
    // The source's own import alias (tsconfig.json), for tests of its pure modules.
    resolve: { alias: { "~": fileURLToPath(new URL("./src", import.meta.url)) } },
    test: {
      include: ["test/**/*.test.ts"],
      globalSetup: ["test/global-setup.ts"],
      fileParallelism: false,
      testTimeout: 180_000,
      hookTimeout: 240_000,
      // The page updates on its own schedule (a live feed every 2 s, refetches): wait for it.
      expect: { poll: { timeout: 20_000, interval: 200 } },
    },
  }),
);
