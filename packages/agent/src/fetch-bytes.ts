// Bytes from the server, checked against the sha256 they were asked for: model files and input
// images both come this way. Browser-safe: fetch and Web Crypto only.
import { sha256Hex } from "@nightshift/models/sha256";
import { FetchError, ModelIntegrityError } from "./errors";

export type FetchFn = typeof globalThis.fetch;

/** A fetch that takes longer is given up on (and retried by the loop). */
export const FETCH_TIMEOUT_MS = 60_000;

/**
 * GET `url` and check the bytes' sha256. An HTTP error is a FetchError (with its status); bytes
 * that do not match are a ModelIntegrityError naming `subject` (a model id, or "input").
 */
export async function fetchVerified(
  fetchFn: FetchFn,
  url: string,
  sha256: string,
  subject: string,
  timeoutMs = FETCH_TIMEOUT_MS,
): Promise<Uint8Array> {
  const response = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) {
    // Drain the body so that the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    throw new FetchError(url, response.status);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = await sha256Hex(bytes);
  if (actual !== sha256) throw new ModelIntegrityError(subject, sha256, actual, url);
  return bytes;
}

/** `path` ("/models/…") under the server's base URL (which may end in "/" or "/trpc"). */
export function serverUrl(base: string, path: string): string {
  if (/^https?:\/\//.test(path)) return path;
  const root = base.replace(/\/+$/, "").replace(/\/trpc$/, "");
  return `${root}${path.startsWith("/") ? "" : "/"}${path}`;
}

/** A fetch that gives up after `timeoutMs` (a server that hangs must not hang the car). */
export function fetchWithTimeout(timeoutMs: number, fetchFn: FetchFn = globalThis.fetch): FetchFn {
  return (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return fetchFn(input, { ...init, signal });
  };
}
