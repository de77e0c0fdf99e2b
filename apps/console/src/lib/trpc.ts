// The browser's tRPC client: calls batched over HTTP, subscriptions over Server-Sent Events, both
// through the console's own /api/trpc (same origin; the session rides in its cookie). Only the
// router's type comes from the API package: no server code reaches the bundle.
import type { AppRouter } from "@nightshift/api/router";
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

export type { AppRouter };
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export const TRPC_PATH = "/api/trpc";

export function createBrowserClient(): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({ url: TRPC_PATH }),
        false: httpBatchLink({ url: TRPC_PATH, maxURLLength: 4000 }),
      }),
    ],
  });
}
