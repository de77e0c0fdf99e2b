// The console talks to the Nightshift server through its own route handlers (src/app/api/*):
// one origin for the browser, no CORS, and the server's URL read when a request comes in, so a
// prebuilt console can follow a server whose port is chosen at run time.
import type { NextConfig } from "next";

const config: NextConfig = {
  reactStrictMode: true,
  // Core and the other workspace packages ship TypeScript source.
  transpilePackages: ["@nightshift/core", "@nightshift/time-zones", "@nightshift/units"],
  // `npm run typecheck` and `npm run lint` check the code; the build does not do it again.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
};

export default config;
