// The static server: cross-origin isolation on every response (the pthread worker's .mjs
// included), the right types for .mjs and .wasm, the API passed through, nothing outside dist.
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, inject, it } from "vitest";
import { startVehicleServer } from "../src/serve";

const ISOLATED = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
};

describe("startVehicleServer", () => {
  it.each([
    ["", "text/html; charset=utf-8"],
    ["ort/ort.wasm.min.mjs", "text/javascript; charset=utf-8"],
    ["ort/ort-wasm-simd-threaded.mjs", "text/javascript; charset=utf-8"],
    ["ort/ort-wasm-simd-threaded.wasm", "application/wasm"],
    ["some/page/of/the/app", "text/html; charset=utf-8"],
  ])("serves /%s isolated, as %s", async (path, type) => {
    const res = await fetch(`${inject("vehicleUrl")}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(type);
    for (const [name, value] of Object.entries(ISOLATED)) expect(res.headers.get(name)).toBe(value);
    await res.arrayBuffer();
  });

  it("passes the API through to the Nightshift server, isolated too", async () => {
    const res = await fetch(`${inject("vehicleUrl")}healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cross-origin-embedder-policy")).toBe("require-corp");
    const direct = await fetch(`${inject("serverUrl")}/healthz`);
    expect(await res.text()).toBe(await direct.text());
  });

  it("answers 404 for a missing file and 403 for a path out of the build", async () => {
    const missing = await fetch(`${inject("vehicleUrl")}assets/nothing-here.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("cross-origin-embedder-policy")).toBe("require-corp");
    // fetch normalizes "..", so these requests are written by hand.
    const url = new URL(inject("vehicleUrl"));
    const statusOf = (path: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: url.hostname, port: url.port, path }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on("error", reject)
          .end();
      });
    // A dot segment is resolved inside the build; an encoded slash is refused.
    expect(await statusOf("/%2e%2e/package.json")).toBe(404);
    expect(await statusOf("/..%2fpackage.json")).toBe(403);
  });

  it("says what is wrong with its options", async () => {
    await expect(startVehicleServer({ serverUrl: "ftp://example.org" })).rejects.toThrow(
      /^serverUrl:/,
    );
    await expect(
      startVehicleServer({ serverUrl: "http://127.0.0.1:1", distDir: "/nonexistent" }),
    ).rejects.toThrow(/^distDir: no index.html/);
  });

  it("appends the browser's address to X-Forwarded-For, as a proxy does", async () => {
    // An upstream that answers with the header it got.
    const upstream = createServer((req, res) => res.end(String(req.headers["x-forwarded-for"])));
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const server = await startVehicleServer({
      port: 0,
      serverUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    });
    try {
      const seen = (headers: Record<string, string>) =>
        fetch(`${server.url}trpc/node.me`, { headers }).then((r) => r.text());
      expect(await seen({})).toBe("127.0.0.1");
      // What the browser wrote stays at the left, where a server that trusts this one reads past it.
      expect(await seen({ "x-forwarded-for": "203.0.113.9" })).toBe("203.0.113.9, 127.0.0.1");
    } finally {
      await server.close();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it("answers 502 with the reason when the Nightshift server is away", async () => {
    const server = await startVehicleServer({ port: 0, serverUrl: "http://127.0.0.1:1" });
    try {
      const res = await fetch(`${server.url}trpc/node.me`);
      expect(res.status).toBe(502);
      expect(await res.text()).toMatch(/did not answer/);
    } finally {
      await server.close();
    }
  });
});
