// The HTTP surface: tRPC under /trpc, probes, metrics and model files, with CORS, security
// headers, body limits by caller, one log line per request and per-procedure metrics. Lifecycle
// (database, listening, shutdown) is start.ts's.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { createContextFactory } from "@nightshift/api/context";
import type { AppRouter } from "@nightshift/api/router";
import { TRPCError } from "@trpc/server";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import type { Logger } from "pino";
import { applyCors } from "./cors";
import { type ServerMetrics, metricsAccess } from "./metrics";
import type { ModelFiles } from "./model-files";
import { type TrustedProxies, clientAddress } from "./client-address";
import { bodyTooLarge, readBody } from "./request-body";

const TRPC_PREFIX = "/trpc/";
/** Probes and scrapes come every few seconds: logged at debug, not info. */
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);
/** New leases stop first on shutdown, so no car starts work this instance will not see end. */
const LEASING_PATHS = new Set(["node.lease"]);

/**
 * On every answer. Nothing the server sends is a page: a browser is to run, frame or sniff none
 * of it, and to send no Referer from it.
 */
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
} as const;

export interface Readiness {
  ready: boolean;
  /** Why not, for people: "shutting down", "database unreachable: …". */
  reason?: string;
}

export interface AppOptions {
  router: AppRouter;
  createContext: ReturnType<typeof createContextFactory>;
  metrics: ServerMetrics;
  modelFiles: ModelFiles;
  /** A stored input image by sha256 (GET /inputs/:sha256), or null. */
  readInput: (sha256: string) => Promise<{ mediaType: string; bytes: Buffer } | null>;
  corsOrigins: ReadonlySet<string>;
  log: Logger;
  /** The largest body a car, tenant or operator may send. */
  maxBodyBytes: number;
  /** The largest body of a call with no credential that resolves (enroll, sign-in). */
  maxAnonymousBodyBytes: number;
  /** What /metrics asks for (see metricsAccess); null: callers on this host only. */
  metricsToken: string | null;
  readiness: () => Promise<Readiness>;
  isDraining: () => boolean;
  /** Proxies in front that append to X-Forwarded-For (see clientAddress); 0: none. */
  trustedProxies: TrustedProxies;
}

interface CallRecord {
  /**
   * tRPC error codes by procedure path, from onError; a path absent here answered OK. An error
   * of the whole request (a body that does not parse) is under "*".
   */
  errors: Map<string, string>;
}

function sendText(res: ServerResponse, status: number, body: string, type = "text/plain"): void {
  res.writeHead(status, { "content-type": `${type}; charset=utf-8`, "cache-control": "no-store" });
  res.end(body);
}

export function createApp(opts: AppOptions): RequestListener {
  const { log, metrics } = opts;
  const procedureTypes = new Map(
    // tRPC keeps every procedure under its full dotted path here.
    Object.entries(
      opts.router._def.procedures as unknown as Record<string, { _def: { type: string } }>,
    ).map(([path, procedure]) => [path, procedure._def.type]),
  );
  const calls = new WeakMap<IncomingMessage, CallRecord>();
  const { router } = opts;

  async function handleTrpc(req: IncomingMessage, res: ServerResponse, pathname: string) {
    // A batch is "a.b,c.d"; a path the router does not know is "unknown" in metrics, so callers
    // cannot grow the label set.
    const paths = pathname
      .slice(TRPC_PREFIX.length)
      .split(",")
      .map((p) => (procedureTypes.has(p) ? p : "unknown"));
    const record: CallRecord = { errors: new Map() };
    calls.set(req, record);
    const startedAt = performance.now();
    const subscription = paths.some((p) => procedureTypes.get(p) === "subscription");
    res.once("close", () => {
      // A subscription's "duration" is how long it stayed connected: not a latency.
      const durationS = subscription ? null : (performance.now() - startedAt) / 1000;
      for (const path of paths) {
        const code = record.errors.get(path) ?? record.errors.get("*") ?? "OK";
        metrics.observeCall(path, code, durationS);
      }
    });
    // Who calls decides how much body may come, so the credential is resolved before the body
    // is read. One that cannot be resolved now (the database away) keeps the larger limit: its
    // call is answered 503, which clients retry, whatever it sends.
    const context = opts.createContext({
      headers: req.headers,
      ip: clientAddress(req, opts.trustedProxies),
    });
    const anonymous = await context.then(
      (c) => c.caller.kind === "anonymous",
      () => false,
    );
    const limitBytes = anonymous ? opts.maxAnonymousBodyBytes : opts.maxBodyBytes;
    await nodeHTTPRequestHandler({
      router,
      req,
      res,
      path: pathname.slice(TRPC_PREFIX.length),
      maxBodySize: limitBytes,
      // Runs before tRPC looks at the request: an error passed on is the answer to every call
      // in it, in tRPC's shape (413 PAYLOAD_TOO_LARGE here).
      middleware: (r, s, next) => {
        if (r.method === "GET" || r.method === "HEAD") return next();
        const who = anonymous ? "a call without a credential" : "a call";
        readBody(r, limitBytes, () => bodyTooLarge(limitBytes, who)).then(
          (body) => {
            (r as IncomingMessage & { body?: string }).body = body;
            next();
          },
          (error: unknown) => {
            // The rest of the body is left unread: the connection ends with the answer.
            s.setHeader("connection", "close");
            // tRPC reads no body when one is given; the error answers every call.
            (r as IncomingMessage & { body?: string }).body = "";
            next(error);
          },
        );
      },
      createContext: ({ info }) => {
        // Answered by tRPC as an error of every call in the request, in its usual shape.
        if (opts.isDraining() && info.calls.some((c) => LEASING_PATHS.has(c.path))) {
          throw new TRPCError({
            code: "SERVICE_UNAVAILABLE",
            message: "this server is shutting down: lease from another",
          });
        }
        return context;
      },
      onError: ({ path, error, req: r }) => {
        const label = path === undefined ? "*" : procedureTypes.has(path) ? path : "unknown";
        calls.get(r as IncomingMessage)?.errors.set(label, error.code);
        if (error.code === "INTERNAL_SERVER_ERROR") {
          log.error({ err: error.cause ?? error, path: label }, "tRPC procedure failed");
        }
      },
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse, pathname: string) {
    if (pathname.startsWith(TRPC_PREFIX)) return handleTrpc(req, res, pathname);
    if (req.method !== "GET" && req.method !== "HEAD") return sendText(res, 404, "not found\n");
    if (pathname === "/healthz") return sendText(res, 200, "ok\n");
    if (pathname === "/readyz") {
      const r = await opts.readiness();
      return sendText(res, r.ready ? 200 : 503, r.ready ? "ready\n" : `not ready: ${r.reason}\n`);
    }
    if (pathname === "/metrics") {
      const access = metricsAccess(req, opts.metricsToken);
      if (access === "unauthorized") {
        res.setHeader("www-authenticate", "Bearer");
        return sendText(
          res,
          401,
          "/metrics needs Authorization: Bearer <NIGHTSHIFT_METRICS_TOKEN>\n",
        );
      }
      if (access === "forbidden") {
        return sendText(
          res,
          403,
          "/metrics answers callers on this host only: set NIGHTSHIFT_METRICS_TOKEN to scrape from elsewhere\n",
        );
      }
      const body = await metrics.registry.metrics();
      res.writeHead(200, { "content-type": metrics.registry.contentType });
      return res.end(body);
    }
    if (pathname.startsWith("/models/") && (await opts.modelFiles.handle(req, res, pathname))) {
      return;
    }
    if (pathname.startsWith("/inputs/")) return sendInput(req, res, pathname.slice(8));
    sendText(res, 404, "not found\n");
  }

  /**
   * Input images are content-addressed: their address is their sha256, so they never change and
   * are cached for good. Knowing the address is what grants access (a 256-bit capability, as
   * for a model file): it is handed only to the job's tenant and the cars that lease its tasks.
   */
  async function sendInput(req: IncomingMessage, res: ServerResponse, sha256: string) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return sendText(res, 404, "not found\n");
    const blob = await opts.readInput(sha256);
    if (!blob) return sendText(res, 404, `no input ${sha256}\n`);
    res.writeHead(200, {
      "content-type": blob.mediaType,
      "content-length": String(blob.bytes.length),
      etag: `"${sha256}"`,
      "cache-control": "public, max-age=31536000, immutable",
      "cross-origin-resource-policy": "cross-origin",
    });
    res.end(req.method === "HEAD" ? undefined : blob.bytes);
  }

  return (req, res) => {
    const startedAt = performance.now();
    // Only the path is logged: a query string may carry tRPC inputs, and headers carry
    // credentials, so neither is.
    const pathname = (req.url ?? "/").split("?", 1)[0] ?? "/";
    res.once("close", () => {
      const line = {
        method: req.method,
        path: pathname,
        status: res.statusCode,
        ms: Math.round((performance.now() - startedAt) * 10) / 10,
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (QUIET_PATHS.has(pathname)) log.debug(line, "request");
      else log.info(line, "request");
    });
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    // While draining, every answer closes its connection so clients reconnect elsewhere.
    if (opts.isDraining()) res.setHeader("connection", "close");
    if (applyCors(req, res, opts.corsOrigins)) return;
    route(req, res, pathname).catch((error: unknown) => {
      log.error({ err: error, path: pathname }, "request failed");
      if (!res.headersSent) sendText(res, 500, "internal error\n");
      else res.destroy();
    });
  };
}
