// zod building blocks shared by every procedure. zod 4's number already refuses NaN and ±Infinity;
// JSON cannot carry them anyway (they arrive as null), so both are rejected naming the field.
import { HARDWARE } from "@nightshift/core/hardware";
import { z } from "zod";

export const ZUuid = z.uuid();
/** Tenant and region ids: short, lower-case, URL-safe. */
export const ZSlug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, "must be lower-case letters, digits and dashes");
export const ZName = z.string().trim().min(1).max(100);
export const ZNonNegative = z.number().min(0);
export const ZShare = z.number().min(0).max(1);
export const ZPct = z.number().min(0).max(100);
export const ZHour = z.number().min(0).max(24);
export const ZIsoDate = z.iso.datetime({ offset: true });
export const ZLimit = z.number().int().min(1).max(500).default(50);

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

export function decodeCursor(cursor: string): [string | number, string | number] | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString());
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      (typeof v[0] === "string" || typeof v[0] === "number") &&
      (typeof v[1] === "string" || typeof v[1] === "number")
    ) {
      return [v[0], v[1]];
    }
  } catch {
    // fall through: a cursor that does not decode is a bad request
  }
  return null;
}

export const ZCursor = z.string().max(512);
