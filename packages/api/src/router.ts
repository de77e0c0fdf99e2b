// The whole API: node (cars), tenant (API keys), operator (sessions). A browser imports only
// `type AppRouter` from here.
import { z } from "zod";
import { nodeRouter } from "./routers/node";
import { operatorRouter } from "./routers/operator";
import { tenantRouter } from "./routers/tenant";
import { publicProcedure, router } from "./trpc";

export const appRouter = router({
  /** Who the credential of this call belongs to. */
  whoami: publicProcedure
    .output(
      z.object({
        kind: z.enum(["car", "tenant", "operator", "anonymous"]),
        id: z.string().nullable(),
      }),
    )
    .query(({ ctx }) => {
      const c = ctx.caller;
      const id =
        c.kind === "car"
          ? c.carId
          : c.kind === "tenant"
            ? c.tenantId
            : c.kind === "operator"
              ? c.operatorId
              : null;
      return { kind: c.kind, id };
    }),
  node: nodeRouter,
  tenant: tenantRouter,
  operator: operatorRouter,
});

export type AppRouter = typeof appRouter;
