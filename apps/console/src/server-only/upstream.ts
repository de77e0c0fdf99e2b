// Forwards a request to the Nightshift server with the operator's session as its bearer token.
// Streams both ways, so tRPC's Server-Sent Events pass through as they are produced.
import "server-only";
import { cookies } from "next/headers";
import { SESSION_COOKIE, serverUrl } from "./env";
import { forwardedFor } from "./forwarded-for";

const FORWARDED_REQUEST_HEADERS = ["content-type", "accept", "trpc-accept", "last-event-id"];
const FORWARDED_RESPONSE_HEADERS = ["content-type", "etag", "cache-control", "x-content-sha256"];

export async function forward(request: Request, path: string): Promise<Response> {
  const incoming = new URL(request.url);
  const target = `${serverUrl()}${path}${incoming.search}`;
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  // Only the operator's session: whatever Authorization the page sends is dropped.
  const session = (await cookies()).get(SESSION_COOKIE)?.value;
  if (session) headers.set("authorization", `Bearer ${session}`);
  const forwarded = forwardedFor(request);
  if (forwarded) headers.set("x-forwarded-for", forwarded);

  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body:
        request.method === "GET" || request.method === "HEAD"
          ? undefined
          : await request.arrayBuffer(),
      // The browser leaving (a closed page, an ended subscription) ends the upstream call too.
      signal: request.signal,
      redirect: "manual",
      cache: "no-store",
    });
  } catch (error) {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    return Response.json(
      {
        error: {
          message: `the Nightshift server at ${serverUrl()} cannot be reached (${String(error)})`,
        },
      },
      { status: 502 },
    );
  }
  const out = new Headers();
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) out.set(name, value);
  }
  if (out.get("content-type")?.startsWith("text/event-stream")) {
    // Compression or a buffering proxy would hold events back.
    out.set("cache-control", "no-cache, no-transform");
    out.set("x-accel-buffering", "no");
  }
  return new Response(upstream.body, { status: upstream.status, headers: out });
}
