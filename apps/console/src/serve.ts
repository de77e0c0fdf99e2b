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
/**
 * Tells the route handlers that X-Forwarded-For ends with the browser's address, so that they
 * may pass it on (see src/server-only/forwarded-for.ts).
 */
const APPENDS_FORWARDED_FOR_KEY = Symbol.for("nightshift.console.appendsForwardedFor");

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

/**
 * As any L7 proxy does: the address the request came from, appended to X-Forwarded-For (made
 * when there is none). Whatever the browser wrote stays at the left, where a server that trusts
 * this console reads past it. Without a peer (the socket already gone) the header is dropped,
 * so that nothing the browser wrote reaches the end of it.
 */
function appendForwardedFor(req: IncomingMessage): void {
  const peer = req.socket.remoteAddress;
  if (peer === undefined) {
    delete req.headers["x-forwarded-for"];
    return;
  }
  const prior = req.headers["x-forwarded-for"];
  const listed = Array.isArray(prior) ? prior.join(", ") : prior;
  req.headers["x-forwarded-for"] = listed ? `${listed}, ${peer}` : peer;
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
  (globalThis as Record<symbol, unknown>)[APPENDS_FORWARDED_FOR_KEY] = true;
  const host = options.host ?? "127.0.0.1";

  let handle: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | null = null;
  const http = createServer((req, res) => {
    appendForwardedFor(req);
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
