// Serves the built vehicle page (dist/) and passes the API through to a Nightshift server, so
// the page calls its own origin and needs no CORS. Every response carries COOP and COEP: the
// page must be cross-origin isolated for WASM threads (SharedArrayBuffer), and a single file
// without COEP (the pthread worker's .mjs, say) makes multi-threaded onnxruntime hang silently.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import {
  createServer,
  type IncomingMessage,
  request as httpRequest,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The production build (`vite build`). */
export const DIST_DIR = fileURLToPath(new URL("../dist/", import.meta.url));

/** Paths handed to the Nightshift server as they are. */
const PROXIED = ["/trpc", "/models/", "/inputs/", "/healthz", "/readyz"];

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

const ISOLATION_HEADERS = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
} as const;

export interface VehicleServerOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** The Nightshift server the page works for, e.g. http://127.0.0.1:8787. */
  serverUrl: string;
  distDir?: string;
}

export interface VehicleServer {
  /** The page's URL, e.g. http://127.0.0.1:5180/ */
  url: string;
  close(): Promise<void>;
}

export async function startVehicleServer(options: VehicleServerOptions): Promise<VehicleServer> {
  const upstream = new URL(options.serverUrl);
  if (upstream.protocol !== "http:" && upstream.protocol !== "https:") {
    throw new Error(`serverUrl: expected an http(s) URL, got ${options.serverUrl}`);
  }
  const distDir = options.distDir ?? DIST_DIR;
  const index = join(distDir, "index.html");
  if (!(await stat(index).catch(() => undefined))?.isFile()) {
    throw new Error(
      `distDir: no index.html in ${distDir}; build the page first (npm run build -w @nightshift/vehicle)`,
    );
  }

  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (PROXIED.some((p) => path === p.replace(/\/$/, "") || path.startsWith(p))) {
      proxy(req, res, upstream);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    void serveFile(req, res, distDir, path, index);
  });

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  distDir: string,
  path: string,
  index: string,
): Promise<void> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    res.writeHead(400).end("bad path");
    return;
  }
  const file = normalize(join(distDir, decoded));
  if (!file.startsWith(normalize(distDir + sep)) && file !== normalize(distDir)) {
    res.writeHead(403).end();
    return;
  }
  const found = await stat(file).catch(() => undefined);
  // Paths without an extension are the page's own (a reload on a deep link): index.html.
  const target = found?.isFile() ? file : extname(decoded) === "" ? index : undefined;
  if (!target) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found");
    return;
  }
  const size = target === file ? found!.size : (await stat(index)).size;
  const headers: OutgoingHttpHeaders = {
    "content-type": MIME[extname(target)] ?? "application/octet-stream",
    "content-length": size,
    // Vite names built assets by their content; everything else may change with a rebuild.
    "cache-control": decoded.startsWith("/assets/")
      ? "public, max-age=31536000, immutable"
      : "no-cache",
  };
  res.writeHead(200, headers);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(target)
    .on("error", () => res.destroy())
    .pipe(res);
}

function proxy(req: IncomingMessage, res: ServerResponse, upstream: URL): void {
  const target = new URL(req.url ?? "/", upstream);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  const headers: OutgoingHttpHeaders = { ...req.headers, host: target.host };
  // The upstream sees a same-origin call; CORS is between the browser and this server.
  delete headers.origin;
  delete headers.referer;
  // As any proxy does: the browser's address at the end of X-Forwarded-For, so that a server
  // that trusts this one keys its per-IP limits on each browser (docs/OPERATIONS.md).
  // Without a peer (the socket already gone) the header goes: nothing the browser wrote may end
  // up at its right.
  const peer = req.socket.remoteAddress;
  const prior = req.headers["x-forwarded-for"];
  delete headers["x-forwarded-for"];
  if (peer !== undefined) headers["x-forwarded-for"] = prior ? `${prior}, ${peer}` : peer;
  const out = send(target, { method: req.method, headers }, (upstreamRes) => {
    const responseHeaders = { ...upstreamRes.headers, ...ISOLATION_HEADERS };
    res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders);
    upstreamRes.pipe(res);
  });
  out.on("error", (error) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res
      .writeHead(502, { "content-type": "text/plain; charset=utf-8" })
      .end(`the Nightshift server at ${upstream.origin} did not answer: ${error.message}`);
  });
  req.pipe(out);
}
