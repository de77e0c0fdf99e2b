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
