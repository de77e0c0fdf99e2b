// The browser's address, passed on to the server so that its per-IP limits (sign-in above all)
// key on each operator, not on the console that all of them come through.
import "server-only";

/** Set by startConsole (src/serve.ts), whose HTTP server appends each request's peer. */
const APPENDS_FORWARDED_FOR_KEY = Symbol.for("nightshift.console.appendsForwardedFor");

/**
 * The X-Forwarded-For to send the server with a call made for `request`: the header as the
 * console's own HTTP server left it, the browser's address appended at its end, as any L7 proxy
 * does (the server believes only the right of it, from proxies it trusts). Under `next start`
 * nothing appends, and Next keeps a header the browser wrote as it is: it is then only the
 * browser's word, and none is sent (the server sees the console's address).
 */
export function forwardedFor(request: Request): string | undefined {
  if ((globalThis as Record<symbol, unknown>)[APPENDS_FORWARDED_FOR_KEY] !== true) {
    return undefined;
  }
  return request.headers.get("x-forwarded-for") ?? undefined;
}
