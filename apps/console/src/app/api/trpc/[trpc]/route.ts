// tRPC calls and subscriptions, passed on to the Nightshift server's /trpc.
import { forward } from "~/server-only/upstream";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ trpc: string }> };

async function handle(request: Request, { params }: Ctx): Promise<Response> {
  const { trpc } = await params;
  return forward(request, `/trpc/${encodeURIComponent(trpc).replace(/%2C/gi, ",")}`);
}

export { handle as GET, handle as POST };
