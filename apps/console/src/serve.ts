// Runs the console's production build (`next build` output in .next/) inside another Node.js
// process, e.g. the one-command demo: Next's programmatic server on a port of its own, talking to
// the Nightshift server at `serverUrl`.
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";

/** The console's package folder (where .next/ lives). */
export const CONSOLE_DIR = fileURLToPath(new URL("..", import.meta.url));

/** Where the route handlers look for the server's URL (see src/server-only/env.ts). */
const SERVER_URL_KEY = Symbol.for("nightshift.console.serverUrl");

export interface StartConsoleOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** The Nightshift server's base URL, e.g. http://127.0.0.1:8787. */
  serverUrl: string;
}

export interface RunningConsole {
  url: string;
  close(): Promise<void>;
}

export class ConsoleNotBuiltError extends Error {
  override name = "ConsoleNotBuiltError";
}

/** True when `next build` has produced a build in `dir`. */
export function isBuilt(dir = CONSOLE_DIR): boolean {
  return existsSync(join(dir, ".next", "BUILD_ID"));
}

/**
 * Starts the console. One process serves one Nightshift server: a second call points every
 * console in the process at its `serverUrl`.
 */
export async function startConsole(options: StartConsoleOptions): Promise<RunningConsole> {
  if (!isBuilt()) {
    throw new ConsoleNotBuiltError(
      `the console has no production build in ${join(CONSOLE_DIR, ".next")}: run \`npm run build -w @nightshift/console\` first`,
    );
  }
  const serverUrl = new URL(options.serverUrl).origin;
  (globalThis as Record<symbol, unknown>)[SERVER_URL_KEY] = serverUrl;
  const host = options.host ?? "127.0.0.1";

  let handle: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | null = null;
  const http = createServer((req, res) => {
    if (handle) void handle(req, res);
    else res.writeHead(503, { "retry-after": "1" }).end("starting");
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const app = next({
    dev: false,
    dir: CONSOLE_DIR,
    hostname: host,
    port,
    httpServer: http,
    quiet: true,
  });
  try {
    await app.prepare();
  } catch (error) {
    http.close();
    throw error;
  }
  handle = app.getRequestHandler();

  return {
    url: `http://${host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        // Event streams never end by themselves.
        http.closeAllConnections();
      });
      await app.close();
    },
  };
}
