// Errors a caller can act on. Each names what it is about: a field for BAD_REQUEST (also listed
// in `data.issues`), the kind of thing for NOT_FOUND.
import { TRPCError } from "@trpc/server";

/** An unknown reference: `what` is the field or the kind of thing, e.g. "modelId". */
export function notFound(what: string, id?: string): TRPCError {
  return new TRPCError({
    code: "NOT_FOUND",
    message: id === undefined ? `${what}: not found` : `${what}: no such ${what} "${id}"`,
  });
}

/** Input that passes its schema but breaks a rule that needs the database or core. */
export function badRequest(field: string, message: string): TRPCError {
  return new TRPCError({
    code: "BAD_REQUEST",
    message: `${field}: ${message}`,
    cause: new FieldError(field, message),
  });
}

/** A reference that exists but may not be used (a revoked or spent code): `what` is the field. */
export function forbidden(what: string, message: string): TRPCError {
  return new TRPCError({ code: "FORBIDDEN", message: `${what}: ${message}` });
}

export function conflict(message: string): TRPCError {
  return new TRPCError({ code: "CONFLICT", message });
}

/** Carries the field of a BAD_REQUEST that did not come from zod, for the error formatter. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = "FieldError";
  }
}

/**
 * PostgreSQL's codes for "not now": the server is shutting down, starting up or restarting
 * (57P01–57P03), the connection failed or broke (class 08), too many connections (53300).
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);
const UNAVAILABLE_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed/i;

/**
 * Whether an error (or one of its causes) says the database is away for now, rather than that
 * the call is wrong: the caller should retry, not report a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith("08")) return true;
      if (UNAVAILABLE_ERRNOS.has(code)) return true;
    }
    if (UNAVAILABLE_MESSAGES.test(e.message)) return true;
    e = e.cause;
  }
  return false;
}

/** SERVICE_UNAVAILABLE (503) for a database that is away: the call may be retried. */
export function databaseUnavailable(cause: unknown): TRPCError {
  return new TRPCError({
    code: "SERVICE_UNAVAILABLE",
    message: "the database is unavailable: retry shortly",
    cause,
  });
}
