// Operators sign in through the console, so the server sees the console's address on every
// sign-in unless the console passes each browser's on. Here the console's production build and a
// real `nightshift serve` that trusts it as a proxy (by address), over real HTTP: browsers come
// from distinct loopback addresses (all of 127.0.0.0/8 reaches this host on Linux). One guesses
// passwords until the server refuses it; another operator still signs in.
import { rmSync } from "node:fs";
import { request } from "node:http";
import {
  parseDemo,
  type ServeProcess,
  spawnServe,
  tempDir,
} from "@nightshift/server-testkit/serve";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningConsole, startConsole } from "../src/serve";

/** Where the console listens, and so the only address the server takes X-Forwarded-For from. */
const CONSOLE_HOST = "127.0.0.1";
const GUESSER = "127.0.0.2";
const OPERATOR = "127.0.0.3";
/** More than the server's sign-in burst (10 per address, then one per 2 s). */
const GUESSES = 20;

let data: string;
let server: ServeProcess;
let running: RunningConsole;
let demo: ReturnType<typeof parseDemo>;

beforeAll(async () => {
  data = tempDir("nightshift-sign-in-");
  server = await spawnServe(["--port", "0", "--data", data, "--demo"], {
    env: { NIGHTSHIFT_TRUSTED_PROXIES: CONSOLE_HOST },
  });
  demo = parseDemo(server.banner);
  running = await startConsole({ port: 0, host: CONSOLE_HOST, serverUrl: server.url });
});

afterAll(async () => {
  await running?.close().catch(() => undefined);
  await server?.stop();
  if (data) rmSync(data, { recursive: true, force: true });
});

interface Answer {
  status: number;
  setCookie: string[];
}

/** POST /api/session from `from`, as a browser there would (plus a header it may write). */
function signIn(from: string, password: string, forwardedFor?: string): Promise<Answer> {
  const body = JSON.stringify({ email: demo.email, password });
  const url = new URL("/api/session", running.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        localAddress: from,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, setCookie: res.headers["set-cookie"] ?? [] }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("sign-in limits through the console", () => {
  it("hold back the address that guesses, not every operator behind the console", async () => {
    expect(demo.password).not.toBe("");
    // At once: each wrong guess takes the server a while (scrypt), and the bucket refills.
    // Every guess writes an X-Forwarded-For of its own, half of them the other operator's
    // address: if the header chose the key, the guesser would never run out, and the operator's
    // own attempts would be spent.
    const statuses = Array.from({ length: GUESSES }, (_, i) =>
      signIn(GUESSER, "not the password", i % 2 ? OPERATOR : `198.51.100.${i}`).then(
        (a) => a.status,
      ),
    );
    // The first refusal says the guesser's bucket is empty now: the operator signs in at once,
    // before a shared bucket could have refilled.
    const firstRefusal = new Promise<void>((resolve) => {
      for (const status of statuses) {
        // A failed request fails the test through Promise.all below.
        status.then((s) => s === 429 && resolve()).catch(() => undefined);
      }
    });
    await Promise.race([firstRefusal, Promise.all(statuses)]);
    const operator = await signIn(OPERATOR, demo.password);

    const guesses = await Promise.all(statuses);
    const refused = guesses.filter((s) => s === 429).length;
    expect(refused, `statuses ${guesses.join(",")}`).toBeGreaterThanOrEqual(3);
    expect(
      guesses.every((s) => s === 401 || s === 429),
      `statuses ${guesses.join(",")}`,
    ).toBe(true);
    expect(operator.status).toBe(200);
    expect(operator.setCookie.join("; ")).toMatch(/nightshift_session=nso_/);
  });
});
