// zod building blocks shared by every procedure. zod 4's number already refuses NaN and ±Infinity;
// JSON cannot carry them anyway (they arrive as null), so both are rejected naming the field.
// Every string and cursor a caller sends goes through one of these before it reaches PostgreSQL,
// which would otherwise refuse it as an internal error (a 500) rather than as the caller's.
import { HARDWARE } from "@nightshift/core/hardware";
import { z } from "zod";
import { badRequest } from "./errors";

export const ZUuid = z.uuid();
/** Tenant and region ids: short, lower-case, URL-safe. */
export const ZSlug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, "must be lower-case letters, digits and dashes");

/**
 * Text on one line: names, ids, keys. No control characters (PostgreSQL refuses NUL in text and
 * in jsonb, and the others have no place in a name shown to people) and no lone UTF-16
 * surrogates (not Unicode: jsonb refuses them, and text would store U+FFFD in their place).
 */
export const ZText = z
  .string()
  .regex(/^[^\p{Cc}\p{Cs}]*$/u, "must hold no control characters or lone surrogates");
/** Text that may run over lines (a car's error message, a reason): tabs and line breaks too. */
export const ZMultilineText = z
  .string()
  .regex(
    /^(?:[\t\n\r]|[^\p{Cc}\p{Cs}])*$/u,
    "must hold no control characters (but tabs and line breaks) or lone surrogates",
  );
export const ZName = ZText.trim().min(1).max(100);
export const ZNonNegative = z.number().min(0);
export const ZShare = z.number().min(0).max(1);
export const ZPct = z.number().min(0).max(100);
export const ZHour = z.number().min(0).max(24);

/** The first and last instants PostgreSQL reads back from the ISO 8601 a Date writes. */
const FIRST_MS = Date.parse("0001-01-01T00:00:00Z");
const LAST_MS = Date.parse("9999-12-31T23:59:59.999Z");
/**
 * A time with its offset, between the years 1 and 9999 once in UTC: outside them a Date's ISO
 * form ("+010000-…", "0000-…") is not one PostgreSQL reads.
 */
export const ZIsoDate = z.iso.datetime({ offset: true }).refine((s) => {
  const ms = Date.parse(s);
  return ms >= FIRST_MS && ms <= LAST_MS;
}, "must fall between the years 1 and 9999 (UTC)");
export const ZLimit = z.number().int().min(1).max(500).default(50);

/** PostgreSQL's `integer`: the largest value a cursor into an integer column may hold. */
const MAX_INT4 = 2 ** 31 - 1;
/**
 * A page's start as the id of the last row shown (bigserial: any safe integer fits) or as a count
 * of rows to skip (OFFSET, which refuses a negative count): never below 0.
 */
export const ZNumberCursor = z.number().int().min(0);
/** The last task `seq` of the previous page; -1 (the default) is before the first task. */
export const ZSeqCursor = z.number().int().min(-1).max(MAX_INT4);

/**
 * A timestamptz as PostgreSQL writes it as text ("2025-06-01 12:00:00.123456+00"): the sort value
 * of a cursor into a time column, checked field by field so that PostgreSQL will read it back.
 */
const PG_TIMESTAMPTZ =
  /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d{1,6})?[+-](\d\d)(?::[0-5]\d){0,2}$/;
export const ZPgTimestamptz = z.string().refine((text) => {
  const m = PG_TIMESTAMPTZ.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetH] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // setUTCFullYear, unlike Date.UTC, takes years below 100 as they are; a day past the month's
  // end rolls over, and is caught by reading the date back.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return (
    year >= 1 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetH <= 15
  );
});

/** Car computers a node may enroll as (the datacenter GPU is only a unit of comparison). */
export const CAR_HARDWARE_IDS = Object.keys(HARDWARE).filter((id) => id !== "h100-sxm") as [
  string,
  ...string[],
];
export const ZHardwareId = z.enum(CAR_HARDWARE_IDS);

export const ZOwnerPolicy = z
  .object({
    optedIn: z.boolean(),
    allowedHours: z.object({ startHour: ZHour, endHour: ZHour }).strict(),
    minDepartureChargePct: ZPct,
    reservePct: ZPct,
  })
  .strict();

/** Encodes a keyset cursor (the sort value and the id of the last row of a page). */
export function encodeCursor(value: string | number, id: string | number): string {
  return Buffer.from(JSON.stringify([value, id])).toString("base64url");
}

/** A keyset cursor as the lists hand them out: base64url, as encodeCursor writes it. */
export const ZCursor = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9_-]+$/, "not a cursor from this list");

/**
 * The sort value and id of a keyset cursor, each checked by its schema (what the list's query
 * will take as its type): any other cursor is a BAD_REQUEST naming `cursor`.
 */
export function decodeCursor<V, I>(cursor: string, value: z.ZodType<V>, id: z.ZodType<I>): [V, I] {
  let parts: unknown = null;
  try {
    parts = JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    // not JSON: refused below like any other cursor that is not one of ours
  }
  const parsed = z.tuple([value, id]).safeParse(parts);
  if (!parsed.success) throw badRequest("cursor", "not a cursor from this list");
  return parsed.data;
}
