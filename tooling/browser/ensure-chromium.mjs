#!/usr/bin/env node
/* global process, console */
// Makes sure a Chromium is there for the end-to-end tests: NIGHTSHIFT_CHROMIUM or CHROMIUM_PATH
// when set, else Debian's `chromium`, which this installs with apt-get when it is missing and we
// are root (as on CI). Run by `npm test` before anything else; prints the browser it found.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

function found() {
  const fromEnv = process.env.NIGHTSHIFT_CHROMIUM ?? process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

let path = found();
if (!path) {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root) {
    console.error(
      "The end-to-end tests need Chromium. Install Debian's package (sudo apt-get install -y chromium)\n" +
        "or set NIGHTSHIFT_CHROMIUM to a Chromium or Chrome binary.",
    );
    process.exit(1);
  }
  console.log("Installing Debian's chromium for the end-to-end tests (apt-get)…");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env });
  path = found();
  if (!path) {
    console.error(
      "apt-get installed chromium, but no binary was found at " + CANDIDATES.join(", "),
    );
    process.exit(1);
  }
}
const version = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout.trim();
console.log(`chromium: ${path} (${version || "version unknown"})`);
