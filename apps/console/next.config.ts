// The console talks to the Nightshift server through its own route handlers (src/app/api/*):
// one origin for the browser, no CORS, and the server's URL read when a request comes in, so a
// prebuilt console can follow a server whose port is chosen at run time.
import type { NextConfig } from "next";

/**
 * What the console's pages may load: everything from their own origin (pages, scripts, the
 * planner's worker, the route handlers under /api that every call and event stream goes
 * through), images also as data: and blob: URLs (previews of the files picked for a job).
 * Next.js writes its own inline scripts (the React Server Components payload) and the layout one
 * (the theme, before the first paint), and React writes style attributes: without a nonce on each
 * page, which would make every page dynamic, inline scripts and styles stay allowed. Nothing else
 * (no other origin, no plugin, no <base>, no frame around the console) is.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  // React's development build evaluates code to rebuild call stacks; the production build does not.
  `script-src 'self' 'unsafe-inline'${process.env.NODE_ENV === "development" ? " 'unsafe-eval'" : ""}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = [
  { key: "Content-Security-Policy", value: CONTENT_SECURITY_POLICY },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Referrer-Policy", value: "no-referrer" },
];

const config: NextConfig = {
  reactStrictMode: true,
  // Core and the other workspace packages ship TypeScript source.
  transpilePackages: ["@nightshift/core", "@nightshift/time-zones", "@nightshift/units"],
  // `npm run typecheck` and `npm run lint` check the code; the build does not do it again.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  // On every answer: pages, their assets and the route handlers under /api.
  headers: async () => [{ source: "/:path*", headers: SECURITY_HEADERS }],
};

export default config;
