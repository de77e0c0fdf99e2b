// A request's body, read only up to what its caller may send: a declared length over the limit is
// refused before a byte is read, and a body that streams past it (chunked, or longer than it said)
// as soon as it does, without waiting for the rest.
import type { IncomingMessage } from "node:http";
import { TRPCError } from "@trpc/server";

/** "64 KiB", "24 MiB": a limit as people read it. */
function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

export function bodyTooLarge(limitBytes: number, who: string): TRPCError {
  return new TRPCError({
    code: "PAYLOAD_TOO_LARGE",
    message:
      `the request body is over ${limitBytes} bytes (${formatBytes(limitBytes)}), ` +
      `the most ${who} may send`,
  });
}

/** The length the request declares, or null when it declares none (chunked). */
function declaredLength(req: IncomingMessage): number | null {
  const header = req.headers["content-length"];
  if (header === undefined) return null;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : null;
}

/**
 * The body as text (UTF-8, as a fetch Request's text() reads it), or a PAYLOAD_TOO_LARGE error
 * once it is known to be over `limitBytes`. Nothing past the limit is kept: the caller should
 * answer with `Connection: close`, so that the connection ends with the answer instead of
 * carrying the rest of the body. A request that goes away before its end fails with
 * CLIENT_CLOSED_REQUEST.
 */
export function readBody(
  req: IncomingMessage,
  limitBytes: number,
  tooLarge: () => TRPCError,
): Promise<string> {
  const declared = declaredLength(req);
  if (declared !== null && declared > limitBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onGone);
      req.off("close", onGone);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limitBytes) {
        stop();
        // Flowing with no listener: what still arrives before the connection closes is dropped.
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(new TextDecoder().decode(Buffer.concat(chunks, bytes)));
    };
    const onGone = () => {
      stop();
      reject(new TRPCError({ code: "CLIENT_CLOSED_REQUEST", message: "the request went away" }));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onGone);
    req.on("close", onGone);
  });
}
