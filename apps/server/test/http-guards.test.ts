// What the server guards before any procedure runs, over real HTTP on a `nightshift serve`
// process: security headers on every answer, bodies refused before they are read when they are
// larger than the caller may send, and /metrics only for whoever holds the metrics token.
import { randomBytes } from "node:crypto";
import { type IncomingHttpHeaders, request } from "node:http";
import { join } from "node:path";
import { tinyInput } from "@nightshift/api/seed";
import { metricsAccess } from "../src/metrics";
import { DEFAULT_API_CONFIG } from "@nightshift/api/config";
import {
  PUBLIC_DEMO_CODE,
  parseDemo,
  type ServeProcess,
  spawnServe,
  STALL_MS,
  tempDir,
} from "@nightshift/server-testkit/serve";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const tmp = tempDir();
const METRICS_TOKEN = randomBytes(24).toString("hex");
const ANONYMOUS_LIMIT = DEFAULT_API_CONFIG.maxAnonymousBodyBytes;

let server: ServeProcess;
let tenantKey: string;

beforeAll(async () => {
  server = await spawnServe(["--port", "0", "--data", join(tmp, "db"), "--demo"], {
    env: { NIGHTSHIFT_METRICS_TOKEN: METRICS_TOKEN },
  });
  tenantKey = [...parseDemo(server.banner).tenantKeys.values()][0]!;
});

afterAll(async () => {
  await server?.stop();
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request over node:http. `body` is written and the request ended; `open` is written and the
 * request left open, so that an answer can only come from a server that did not wait for the
 * rest. `contentLength` declares a length whatever is written.
 */
function send(
  path: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    open?: string;
    contentLength?: number;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.contentLength !== undefined) headers["content-length"] = String(opts.contentLength);
    const req = request(
      `${server.url}${path}`,
      { method: opts.method ?? "GET", headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          req.destroy();
        });
      },
    );
    req.on("error", reject);
    // A hang guard: the server sent nothing for STALL_MS.
    req.setTimeout(STALL_MS, () => req.destroy(new Error(`no answer to ${path}`)));
    if (opts.open !== undefined) {
      req.write(opts.open);
    } else if (opts.contentLength !== undefined && opts.body === undefined) {
      req.flushHeaders();
    } else {
      req.end(opts.body);
    }
  });
}

const json = { "content-type": "application/json" };
const enrollBody = JSON.stringify({ code: PUBLIC_DEMO_CODE });
/** JSON with this much whitespace after it: still valid, and as large as a test needs. */
const padded = (body: string, bytes: number) => body + " ".repeat(bytes);

describe("security headers", () => {
  it("come with every answer: probes, tRPC, errors, files, preflights, refusals", async () => {
    const answers: [string, Answer][] = [
      ["healthz", await send("/healthz")],
      ["readyz", await send("/readyz")],
      ["whoami", await send("/trpc/whoami")],
      ["bad input", await send("/trpc/node.enroll", { method: "POST", headers: json, body: "{}" })],
      ["no route", await send("/nothing-here")],
      ["no model", await send(`/models/tiny-mlp/${"0".repeat(64)}`)],
      ["no input", await send("/inputs/not-a-sha")],
      [
        "preflight",
        await send("/trpc/whoami", {
          method: "OPTIONS",
          headers: { origin: "http://elsewhere.test", "access-control-request-method": "GET" },
        }),
      ],
      ["metrics refused", await send("/metrics")],
      [
        "body too large",
        await send("/trpc/node.enroll", {
          method: "POST",
          headers: json,
          contentLength: ANONYMOUS_LIMIT + 1,
        }),
      ],
    ];
    for (const [what, a] of answers) {
      expect({ what, headers: a.headers }).toMatchObject({
        what,
        headers: {
          "x-content-type-options": "nosniff",
          "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
          "x-frame-options": "DENY",
          "referrer-policy": "no-referrer",
        },
      });
    }
  });
});

describe("request bodies", () => {
  it("refuses an anonymous body declared too large before a byte of it is sent", async () => {
    // The body is never written: only a server that answers on the declared length answers.
    const a = await send("/trpc/node.enroll", {
      method: "POST",
      headers: json,
      contentLength: 10 * 1024 * 1024,
    });
    expect(a.status).toBe(413);
    expect(a.headers.connection).toBe("close");
    const { error } = JSON.parse(a.body) as { error: { message: string; data: { code: string } } };
    expect(error.data.code).toBe("PAYLOAD_TOO_LARGE");
    expect(error.message).toContain(`${ANONYMOUS_LIMIT} bytes`);
  });

  it("refuses an anonymous body that streams past the limit without waiting for its end", async () => {
    // Chunked, with no length declared, and never ended: the answer comes from counting.
    const a = await send("/trpc/operator.auth.signIn", {
      method: "POST",
      headers: json,
      open: " ".repeat(ANONYMOUS_LIMIT + 1024),
    });
    expect(a.status).toBe(413);
    expect(a.body).toContain("PAYLOAD_TOO_LARGE");
  });

  it("takes anonymous bodies under the limit, and larger ones from cars and tenants", async () => {
    const small = await send("/trpc/node.enroll", {
      method: "POST",
      headers: json,
      body: padded(enrollBody, ANONYMOUS_LIMIT - enrollBody.length - 1),
    });
    expect(small.status).toBe(200);
    const job = JSON.stringify({ modelId: "tiny-mlp", inputs: [tinyInput([1, 2, 3, 4])] });
    const large = await send("/trpc/tenant.jobs.submit", {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${tenantKey}` },
      body: padded(job, 4 * ANONYMOUS_LIMIT),
    });
    expect(large.status).toBe(200);
    // The same body without a credential, or with one that resolves to nobody, is anonymous.
    for (const authorization of [undefined, `Bearer nsk_${"A".repeat(43)}`]) {
      const refused = await send("/trpc/tenant.jobs.submit", {
        method: "POST",
        headers: { ...json, ...(authorization ? { authorization } : {}) },
        body: padded(job, 4 * ANONYMOUS_LIMIT),
      });
      expect({ authorization, status: refused.status }).toEqual({ authorization, status: 413 });
    }
  });
});

describe("/metrics with NIGHTSHIFT_METRICS_TOKEN set", () => {
  it("answers only a bearer of the token, even on the loopback address", async () => {
    const none = await send("/metrics");
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe("Bearer");
    expect(none.body).not.toContain("nightshift_");
    const wrong = await send("/metrics", { headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    const right = await send("/metrics", {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(right.status).toBe(200);
    expect(right.body).toContain("nightshift_trpc_calls_total");
  });
});

describe("/metrics without a token", () => {
  /** A request as the access check sees it: the TCP peer and the headers. */
  const from = (remoteAddress: string, headers: IncomingHttpHeaders = {}) => ({
    socket: { remoteAddress },
    headers,
  });

  it("answers callers on the loopback address that came through no proxy", () => {
    for (const peer of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
      expect({ peer, access: metricsAccess(from(peer), null) }).toEqual({ peer, access: "ok" });
    for (const peer of ["10.0.0.5", "192.168.1.2", "::ffff:10.0.0.5", "fe80::1", "2001:db8::1"])
      expect({ peer, access: metricsAccess(from(peer), null) }).toEqual({
        peer,
        access: "forbidden",
      });
    // A proxy on the same host passes on requests from anywhere: what it forwards is refused.
    expect(metricsAccess(from("127.0.0.1", { "x-forwarded-for": "203.0.113.9" }), null)).toBe(
      "forbidden",
    );
    expect(metricsAccess(from("127.0.0.1", { forwarded: "for=203.0.113.9" }), null)).toBe(
      "forbidden",
    );
  });

  it("with a token, answers its bearer from anywhere and nobody else", () => {
    const token = "a-metrics-token-long-enough";
    const bearer = { authorization: `Bearer ${token}` };
    expect(metricsAccess(from("10.0.0.5", bearer), token)).toBe("ok");
    expect(metricsAccess(from("127.0.0.1"), token)).toBe("unauthorized");
    expect(metricsAccess(from("127.0.0.1", { authorization: `Bearer ${token}x` }), token)).toBe(
      "unauthorized",
    );
    expect(metricsAccess(from("127.0.0.1", { authorization: token }), token)).toBe("unauthorized");
  });
});
