// Operator sign-in and sign-out. The session token goes into an httpOnly cookie: page scripts
// never hold it, and the event streams (EventSource cannot send headers) carry it too.
import { isTRPCClientError } from "@trpc/client";
import { cookies } from "next/headers";
import { z } from "zod";
import { SESSION_COOKIE } from "~/server-only/env";
import { serverClient } from "~/server-only/nightshift";

export const dynamic = "force-dynamic";

const ZSignIn = z.object({ email: z.string().min(1), password: z.string().min(1) });

function failure(error: unknown): Response {
  if (isTRPCClientError(error)) {
    const status = (error.data as { httpStatus?: number } | undefined)?.httpStatus ?? 502;
    return Response.json({ error: { message: error.message } }, { status });
  }
  return Response.json(
    { error: { message: `the Nightshift server cannot be reached (${String(error)})` } },
    { status: 502 },
  );
}

export async function POST(request: Request): Promise<Response> {
  const body = ZSignIn.safeParse(await request.json().catch(() => null));
  if (!body.success) {
    const issue = body.error.issues[0];
    return Response.json(
      { error: { message: `${issue?.path.join(".") || "body"}: ${issue?.message}` } },
      { status: 400 },
    );
  }
  try {
    const session = await serverClient(request).operator.auth.signIn.mutate(body.data);
    (await cookies()).set(SESSION_COOKIE, session.token, {
      httpOnly: true,
      sameSite: "strict",
      path: "/",
      expires: new Date(session.expiresAt),
    });
    return Response.json({ operatorId: session.operatorId, expiresAt: session.expiresAt });
  } catch (error) {
    return failure(error);
  }
}

export async function DELETE(request: Request): Promise<Response> {
  const jar = await cookies();
  const token = jar.get(SESSION_COOKIE)?.value;
  jar.delete(SESSION_COOKIE);
  if (token) {
    // An expired session is already gone on the server: signing out locally is enough.
    await serverClient(request, token)
      .operator.auth.signOut.mutate()
      .catch(() => undefined);
  }
  return Response.json({ signedOut: true });
}
