import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readModelFile } from "@nightshift/models/files";
import { getManifest } from "@nightshift/models/registry";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { classifyError, FetchError, ModelIntegrityError } from "../src/errors";
import { NodeModelStore } from "../src/model-store-node";
import { type ByteServer, startByteServer } from "./http-fixture";

const model = getManifest("tiny-mlp")!;
const path = `/models/${model.id}/${model.sha256}`;
let server: ByteServer;
let good: Uint8Array;
let dir: string;

beforeAll(async () => {
  server = await startByteServer();
  good = await readModelFile(model);
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "nightshift-store-"));
  server.files.clear();
  server.requests.length = 0;
});

afterAll(async () => {
  await server.close();
});

describe("NodeModelStore", () => {
  it("fetches a model once, caches it on disk, and reads it back checked", async () => {
    server.files.set(path, good);
    const store = new NodeModelStore({ dir });
    const bytes = await store.get(model, server.url + path);
    expect(Buffer.from(bytes).equals(Buffer.from(good))).toBe(true);
    expect(readFileSync(store.pathOf(model)).equals(Buffer.from(good))).toBe(true);

    // A second store on the same folder (another process) reads the file, not the server.
    const again = new NodeModelStore({ dir });
    await again.get(model, server.url + path);
    expect(server.requests).toEqual([path]);
    expect(again.stats).toEqual({ fetched: 0, diskHits: 1, discarded: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  it("fetches once for concurrent gets of one model", async () => {
    server.files.set(path, good);
    const store = new NodeModelStore({ dir });
    const all = await Promise.all(
      Array.from({ length: 20 }, () => store.get(model, server.url + path)),
    );
    expect(new Set(all).size).toBe(1);
    expect(server.requests).toHaveLength(1);
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a model served with wrong bytes, and caches nothing", async () => {
    const tampered = new Uint8Array(good);
    tampered[100] = (tampered[100]! + 1) % 256;
    server.files.set(path, tampered);
    const store = new NodeModelStore({ dir });
    const error = await store.get(model, server.url + path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelIntegrityError);
    expect(error).toMatchObject({ subject: model.id, expectedSha256: model.sha256 });
    expect((error as ModelIntegrityError).actualSha256).not.toBe(model.sha256);
    expect(classifyError(error)).toEqual({ kind: "fail-lease", reason: "model-integrity" });
    expect(() => readFileSync(store.pathOf(model))).toThrow(/ENOENT/);

    // Not remembered as failed: once the server serves the right bytes, the next get works.
    server.files.set(path, good);
    await expect(store.get(model, server.url + path)).resolves.toHaveLength(good.length);
    rmSync(dir, { recursive: true, force: true });
  });

  it("deletes a cached file that fails its sha256 and fetches it again", async () => {
    server.files.set(path, good);
    const store = new NodeModelStore({ dir });
    await store.get(model, server.url + path);
    const damaged = new Uint8Array(good.subarray(0, good.length - 10));
    writeFileSync(store.pathOf(model), damaged);

    const fresh = new NodeModelStore({ dir });
    const bytes = await fresh.get(model, server.url + path);
    expect(bytes).toHaveLength(good.length);
    expect(fresh.stats).toEqual({ fetched: 1, diskHits: 0, discarded: 1 });
    expect(readFileSync(store.pathOf(model))).toHaveLength(good.length);
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports a missing file as an HTTP error, for the loop to fail the lease", async () => {
    const store = new NodeModelStore({ dir });
    const error = await store.get(model, `${server.url}/models/nope`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchError);
    expect((error as FetchError).status).toBe(404);
    rmSync(dir, { recursive: true, force: true });
  });
});
