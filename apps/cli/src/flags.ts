// Parsers for numeric flag values. Strict on purpose: "12abc", "" and "0x10" are errors, not
// numbers, and the message names the flag so a mistake in a long command line is easy to find.
import { UsageError } from "./usage-error";

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export interface Range {
  min: number;
  max: number;
}

/** An integer in [min, max]. */
export function parseIntegerFlag(flag: string, raw: string, { min, max }: Range): number {
  const value = INTEGER.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `${flag} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** A number in (min, max]: the lower bound excluded (a duration of 0 means nothing). */
export function parsePositiveFlag(flag: string, raw: string, max: number): number {
  const value = DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(
      `${flag} must be a number greater than 0 and at most ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** A number in [min, max], bounds included (a share, a weight). */
export function parseNumberFlag(flag: string, raw: string, { min, max }: Range): number {
  const value = DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(
      `${flag} must be a number between ${min} and ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** An http(s) URL. */
export function parseUrlFlag(flag: string, raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new UsageError(`${flag} must be an http:// or https:// URL, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

const INSTANT = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)(Z|[+-]\d{2}:\d{2})?$/;

/** An ISO 8601 date and time, e.g. 2026-06-01T08:00 (UTC unless it carries an offset). */
export function parseInstantFlag(flag: string, raw: string): Date {
  const m = INSTANT.exec(raw.trim());
  const at = m ? new Date(`${m[1]}T${m[2]}${m[5] ?? "Z"}`) : null;
  if (!at || Number.isNaN(at.getTime())) {
    throw new UsageError(
      `${flag} must be an ISO 8601 date and time such as 2026-06-01T08:00 or 2026-06-01T08:00+02:00, got ${JSON.stringify(raw)}`,
    );
  }
  return at;
}
