// A typed client for the Nightshift server, for the console's own route handlers.
import "server-only";
import type { AppRouter } from "@nightshift/api/router";
import { createTRPCClient, httpLink } from "@trpc/client";
import { serverUrl } from "./env";

export function serverClient(token?: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${serverUrl()}/trpc`,
        headers: () => (token ? { authorization: `Bearer ${token}` } : {}),
      }),
    ],
  });
}
