// Headless Chromium through playwright-core, with the flags the tests need: WebGPU on
// SwiftShader (--enable-unsafe-webgpu; works on a secure origin such as http://127.0.0.1), and
// --no-sandbox when running as root. `npm test` installs the browser first (ensure-chromium.mjs).
import { existsSync } from "node:fs";
import { type Browser, chromium, type LaunchOptions } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** The Chromium binary: NIGHTSHIFT_CHROMIUM or CHROMIUM_PATH, else Debian's. */
export function chromiumPath(): string {
  const fromEnv = process.env.NIGHTSHIFT_CHROMIUM ?? process.env.CHROMIUM_PATH;
  const path = fromEnv ?? CANDIDATES.find((p) => existsSync(p));
  if (!path || !existsSync(path)) {
    throw new Error(
      "No Chromium found: run `node tooling/browser/ensure-chromium.mjs` (npm test does) " +
        "or set NIGHTSHIFT_CHROMIUM",
    );
  }
  return path;
}

export interface LaunchChromiumOptions extends LaunchOptions {
  /** Ask for a WebGPU adapter (SwiftShader when there is no GPU). Default true. */
  webgpu?: boolean;
}

export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<Browser> {
  const { webgpu = true, args = [], ...rest } = options;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    ...rest,
    args: [
      ...(root ? ["--no-sandbox"] : []),
      ...(webgpu ? ["--enable-unsafe-webgpu"] : []),
      ...args,
    ],
  });
}
