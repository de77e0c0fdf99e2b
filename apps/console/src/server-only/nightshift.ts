// A typed client for the Nightshift server, for the console's own route handlers.
import "server-only";
import type { AppRouter } from "@nightshift/api/router";
import { createTRPCClient, httpLink } from "@trpc/client";
import { serverUrl } from "./env";
import { forwardedFor } from "./forwarded-for";

/** A client for calls made on behalf of `request`: they carry its browser's address. */
export function serverClient(request: Request, token?: string) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const forwarded = forwardedFor(request);
  if (forwarded) headers["x-forwarded-for"] = forwarded;
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${serverUrl()}/trpc`, headers })],
  });
}
