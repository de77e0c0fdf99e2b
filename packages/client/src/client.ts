// A typed client for the Nightshift API. Types come from the server's router by a type-only
// import, so nothing of the server reaches a bundle that uses this: only `@trpc/client` runs.
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import type { AppRouter } from "@nightshift/api/router";

export type { AppRouter };

export interface NightshiftClientOptions {
  /** The server's base URL (`http://127.0.0.1:8787`); `/trpc` is added unless it is there. */
  url: string;
  /** A tenant key, an operator session token or a car credential; none for signing in. */
  credential?: string;
  /** Another fetch (tests, a proxy); the global one by default. */
  fetch?: typeof globalThis.fetch;
}

export type NightshiftClient = ReturnType<typeof createTRPCClient<AppRouter>>;

/** The tRPC endpoint under a server's base URL. */
export function trpcUrl(url: string): string {
  const base = url.replace(/\/+$/, "");
  return base.endsWith("/trpc") ? base : `${base}/trpc`;
}

export function createNightshiftClient(options: NightshiftClientOptions): NightshiftClient {
  const { credential } = options;
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: trpcUrl(options.url),
        headers: () => (credential ? { authorization: `Bearer ${credential}` } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    ],
  });
}
