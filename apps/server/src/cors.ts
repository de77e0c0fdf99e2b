// CORS for the browser apps on other origins (the operator console, the vehicle page). Only
// listed origins get CORS headers; a browser refuses the others' responses.
import type { IncomingMessage, ServerResponse } from "node:http";

const ALLOWED_HEADERS = "authorization, content-type, trpc-accept, x-trpc-source";

/**
 * Adds CORS headers for an allowed origin. Returns true when the request was a preflight and
 * has been answered.
 */
export function applyCors(
  req: IncomingMessage,
  res: ServerResponse,
  allowedOrigins: ReadonlySet<string>,
): boolean {
  const origin = req.headers.origin;
  res.setHeader("vary", "Origin");
  const allowed = origin !== undefined && allowedOrigins.has(origin);
  if (allowed) {
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("access-control-expose-headers", "etag, x-content-sha256");
  }
  const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"];
  if (!preflight) return false;
  if (allowed) {
    res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
    res.setHeader("access-control-allow-headers", ALLOWED_HEADERS);
    res.setHeader("access-control-max-age", "600");
  }
  res.writeHead(204).end();
  return true;
}
