// Builds the console once (`next build`) before the tests, unless the build is newer than every
// source file. The tests then drive that production build.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { CONSOLE_DIR, isBuilt } from "../src/serve";

function newestMtimeMs(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, name)));
  return newest;
}

/** The console's sources and those of the workspace code it bundles. */
const INPUTS = [
  join(CONSOLE_DIR, "src"),
  join(CONSOLE_DIR, "next.config.ts"),
  join(CONSOLE_DIR, "package.json"),
  join(CONSOLE_DIR, "tsconfig.json"),
  join(CONSOLE_DIR, "..", "..", "packages", "core", "src"),
  join(CONSOLE_DIR, "..", "..", "packages", "time-zones", "src"),
];

export default function setup(): void {
  if (isBuilt()) {
    const builtAt = statSync(join(CONSOLE_DIR, ".next", "BUILD_ID")).mtimeMs;
    if (INPUTS.every((p) => newestMtimeMs(p) < builtAt)) return;
  }
  const bin = createRequire(import.meta.url).resolve("next/dist/bin/next");
  const started = performance.now();
  const run = spawnSync(process.execPath, [bin, "build"], {
    cwd: CONSOLE_DIR,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (run.status !== 0) throw new Error(`next build failed (exit ${run.status ?? run.signal})`);
  console.log(`console: next build took ${Math.round((performance.now() - started) / 1000)} s`);
}
