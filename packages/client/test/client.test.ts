// The client's wire behaviour, against a stand-in fetch: the URL it calls, the credential it
// sends, and how a refusal comes back. (apps/server's tests use it against the real server.)
import { describe, expect, it } from "vitest";
import { createNightshiftClient, trpcUrl } from "../src/client";
import { apiErrorCode, apiErrorIssues } from "../src/errors";

interface Seen {
  url: string;
  authorization: string | null;
}

function fakeFetch(body: unknown, status = 200) {
  const seen: Seen[] = [];
  const fetch = async (input: Parameters<typeof globalThis.fetch>[0], init?: RequestInit) => {
    seen.push({
      url: String(input),
      authorization: new Headers(init?.headers).get("authorization"),
    });
    return new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, seen };
}

describe("trpcUrl", () => {
  it.each([
    ["http://127.0.0.1:8787", "http://127.0.0.1:8787/trpc"],
    ["http://127.0.0.1:8787/", "http://127.0.0.1:8787/trpc"],
    ["https://api.example.com/trpc", "https://api.example.com/trpc"],
    ["https://api.example.com/trpc/", "https://api.example.com/trpc"],
    ["https://example.com/nightshift", "https://example.com/nightshift/trpc"],
  ])("%s → %s", (base, expected) => {
    expect(trpcUrl(base)).toBe(expected);
  });
});

describe("createNightshiftClient", () => {
  it("calls the procedure under /trpc with the credential as a bearer token", async () => {
    const { fetch, seen } = fakeFetch([{ result: { data: { kind: "tenant", id: "acme" } } }]);
    const client = createNightshiftClient({
      url: "http://server:8787",
      credential: "nsk_k",
      fetch,
    });
    expect(await client.whoami.query()).toEqual({ kind: "tenant", id: "acme" });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toMatch(/^http:\/\/server:8787\/trpc\/whoami\?batch=1/);
    expect(seen[0]!.authorization).toBe("Bearer nsk_k");
  });

  it("sends no Authorization header without a credential", async () => {
    const { fetch, seen } = fakeFetch([{ result: { data: { kind: "anonymous", id: null } } }]);
    const client = createNightshiftClient({ url: "http://server:8787", fetch });
    await client.whoami.query();
    expect(seen[0]!.authorization).toBeNull();
  });

  it("batches calls made together into one request", async () => {
    const { fetch, seen } = fakeFetch([
      { result: { data: { kind: "anonymous", id: null } } },
      { result: { data: { kind: "anonymous", id: null } } },
    ]);
    const client = createNightshiftClient({ url: "http://server:8787", fetch });
    await Promise.all([client.whoami.query(), client.whoami.query()]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toContain("/trpc/whoami,whoami?batch=1");
  });

  it("turns a refusal into an error with its code and the fields at fault", async () => {
    const { fetch } = fakeFetch(
      [
        {
          error: {
            message: "jobId: Invalid UUID",
            code: -32600,
            data: {
              code: "BAD_REQUEST",
              httpStatus: 400,
              path: "tenant.jobs.get",
              issues: [{ path: "jobId", message: "Invalid UUID" }],
            },
          },
        },
      ],
      400,
    );
    const client = createNightshiftClient({ url: "http://server:8787", credential: "k", fetch });
    const error = await client.tenant.jobs.get.query({ jobId: "x" }).catch((e: unknown) => e);
    expect(apiErrorCode(error)).toBe("BAD_REQUEST");
    expect(apiErrorIssues(error)).toEqual([{ path: "jobId", message: "Invalid UUID" }]);
    expect((error as Error).message).toBe("jobId: Invalid UUID");
  });

  it("has no code for a failure that never reached the API", async () => {
    const fetch = (async () => {
      throw new TypeError("fetch failed");
    }) as typeof globalThis.fetch;
    const client = createNightshiftClient({ url: "http://server:8787", fetch });
    const error = await client.whoami.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(apiErrorCode(error)).toBeNull();
    expect(apiErrorCode(new Error("other"))).toBeNull();
  });
});
