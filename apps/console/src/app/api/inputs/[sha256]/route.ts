// Job input images, stored by the server under their sha256.
import { forward } from "~/server-only/upstream";

export const dynamic = "force-dynamic";

export async function GET(
  request: Request,
  { params }: { params: Promise<{ sha256: string }> },
): Promise<Response> {
  const { sha256 } = await params;
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    return Response.json(
      { error: { message: "sha256: not a sha256 hex digest" } },
      { status: 400 },
    );
  }
  return forward(request, `/inputs/${sha256}`);
}
