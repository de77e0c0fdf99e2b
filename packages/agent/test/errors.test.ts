import { TRPCClientError } from "@trpc/client";
import { ImageDecodeError } from "@nightshift/models/image";
import { describe, expect, it } from "vitest";
import {
  BadInputError,
  classifyError,
  errorMessage,
  FetchError,
  ModelIntegrityError,
} from "../src/errors";
import { splitRows } from "../src/loop";

const apiError = (code: string) =>
  TRPCClientError.from({ error: { message: code, code: -32600, data: { code } } } as never);

describe("classifyError", () => {
  it("fails the lease for what this lease cannot be run with", () => {
    const sha = "a".repeat(64);
    expect(classifyError(new ModelIntegrityError("tiny-mlp", sha, "b".repeat(64)))).toEqual({
      kind: "fail-lease",
      reason: "model-integrity",
    });
    // An input image whose bytes do not match is as unusable as a broken one.
    expect(classifyError(new ModelIntegrityError("input", sha, "b".repeat(64)))).toEqual({
      kind: "fail-lease",
      reason: "bad-input",
    });
    expect(classifyError(new ImageDecodeError("not a PNG or JPEG image"))).toEqual({
      kind: "fail-lease",
      reason: "bad-input",
    });
    expect(classifyError(new BadInputError("inputs.x: missing"))).toMatchObject({
      reason: "bad-input",
    });
    expect(classifyError(new FetchError("/inputs/x", 404))).toMatchObject({ reason: "bad-input" });
  });

  it("retries what an outage explains, and re-enrolls on a refused credential", () => {
    expect(classifyError(new TypeError("fetch failed"))).toEqual({ kind: "retry" });
    expect(classifyError(new FetchError("/models/x/y", 503))).toEqual({ kind: "retry" });
    expect(classifyError(apiError("INTERNAL_SERVER_ERROR"))).toEqual({ kind: "retry" });
    expect(classifyError(apiError("TOO_MANY_REQUESTS"))).toEqual({ kind: "retry" });
    expect(classifyError(apiError("UNAUTHORIZED"))).toEqual({ kind: "reenroll" });
    expect(classifyError(apiError("BAD_REQUEST"))).toEqual({ kind: "fatal" });
    expect(classifyError(apiError("NOT_FOUND"))).toEqual({ kind: "fatal" });
  });

  it("keeps messages short enough for node.fail", () => {
    const message = errorMessage(new Error("x".repeat(2000)));
    expect(message.length).toBe(500);
    expect(message.startsWith("Error: xxx")).toBe(true);
  });

  it("keeps messages to text the server stores: no control characters, no lone surrogates", () => {
    expect(errorMessage(new Error("\u001b[31mout of memory\u001b[0m\u0000\nat line 2\t!"))).toBe(
      "Error: \uFFFD[31mout of memory\uFFFD[0m\uFFFD\nat line 2\t!",
    );
    expect(errorMessage("half a pair \uD83D")).toBe("half a pair \uFFFD");
    // Cut where an emoji starts: the emoji goes whole, not half of it.
    const cut = errorMessage(new Error(`${"x".repeat(491)}\u{1F600}${"y".repeat(20)}`));
    expect(cut).toBe(`Error: ${"x".repeat(491)}…`);
    expect(cut).toMatch(/^[^\p{Cs}]*$/u);
  });
});

describe("splitRows", () => {
  it("cuts a batched output back into each task's rows", () => {
    const out = { dims: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const parts = splitRows(out, [1, 2]);
    expect(parts.map((p) => p.dims)).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(parts.map((p) => Array.from(p.data))).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ]);
  });

  it("refuses an output whose first dimension is not the batch", () => {
    expect(() => splitRows({ dims: [2, 2], data: new Float32Array(4) }, [1, 2])).toThrow(
      /do not split into rows 1\+2/,
    );
  });
});
