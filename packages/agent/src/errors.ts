// What can go wrong on a node, and what the work loop does about it. Browser-safe.
import { apiErrorCode } from "@nightshift/client/errors";
import { ImageDecodeError } from "@nightshift/models/image";

/** Bytes whose sha256 is not the one they were fetched for (a model file or an input image). */
export class ModelIntegrityError extends Error {
  override readonly name = "ModelIntegrityError";
  constructor(
    /** What was fetched: a model id, or "input". */
    readonly subject: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
    /** Where the bytes came from, when known. */
    readonly url?: string,
  ) {
    super(
      `${subject}: the bytes${url ? ` from ${url}` : ""} have sha256 ${actualSha256}, expected ${expectedSha256}`,
    );
  }
}

/** A fetch answered with an HTTP error status. */
export class FetchError extends Error {
  override readonly name = "FetchError";
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`GET ${url}: HTTP ${status}`);
  }
}

/** The input of a task cannot be used (a broken image, a tensor that does not fit the model). */
export class BadInputError extends Error {
  override readonly name = "BadInputError";
}

/**
 * What the loop does with an error:
 * - `retry`: the server or the network is away (connection refused, 5xx, a timeout); back off
 *   and try again, keeping what was computed.
 * - `fail-lease`: this lease cannot be run here; tell the server (`node.fail` with `reason`) and
 *   go on with the next one.
 * - `reenroll`: the credential is refused (the car was removed); enroll again.
 * - `fatal`: a mistake that retrying does not fix (a bad request from this code).
 */
export type ErrorAction =
  | { kind: "retry" }
  | { kind: "fail-lease"; reason: "bad-input" | "model-integrity" | "runtime" }
  | { kind: "reenroll" }
  | { kind: "fatal" };

export function classifyError(error: unknown): ErrorAction {
  // An input whose bytes are not the ones the server named is as unusable as a broken one.
  if (error instanceof ModelIntegrityError)
    return {
      kind: "fail-lease",
      reason: error.subject === "input" ? "bad-input" : "model-integrity",
    };
  // By name too: @nightshift/models' file reader has an error of the same name.
  if (error instanceof Error && error.name === "ModelIntegrityError")
    return { kind: "fail-lease", reason: "model-integrity" };
  if (error instanceof BadInputError || error instanceof ImageDecodeError)
    return { kind: "fail-lease", reason: "bad-input" };
  if (error instanceof FetchError) {
    // A missing input or model is this lease's problem; anything else is the server's.
    if (error.status === 404 || error.status === 410)
      return { kind: "fail-lease", reason: "bad-input" };
    return { kind: "retry" };
  }
  const code = apiErrorCode(error);
  if (code === "UNAUTHORIZED") return { kind: "reenroll" };
  // A refused code, a lease or car the server does not know: asking again changes nothing.
  if (
    code === "BAD_REQUEST" ||
    code === "PARSE_ERROR" ||
    code === "FORBIDDEN" ||
    code === "NOT_FOUND"
  )
    return { kind: "fatal" };
  // Network failures (TypeError from fetch), timeouts, 5xx, TOO_MANY_REQUESTS, aborted calls.
  return { kind: "retry" };
}

/**
 * A short message for people and for node.fail (the server keeps at most a few hundred characters).
 * The server refuses control characters (but tabs and line breaks) and lone surrogates in it, so
 * an engine's colour codes or a cut emoji become U+FFFD, and the cut never splits a pair.
 */
export function errorMessage(error: unknown, max = 500): string {
  const text = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).replace(
    /(?![\t\n\r])[\p{Cc}\p{Cs}]/gu,
    "\uFFFD",
  );
  if (text.length <= max) return text;
  // A high surrogate at the cut would be left without its pair.
  const end = /[\uD800-\uDBFF]/.test(text[max - 2] ?? "") ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}
