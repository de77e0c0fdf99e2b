import { describe, expect, it } from "vitest";
import { parseInstantFlag, parseIntegerFlag, parsePositiveFlag } from "../src/flags";
import { UsageError } from "../src/usage-error";

describe("parseIntegerFlag", () => {
  const range = { min: 0, max: 5_000_000 };

  it("accepts integers in range, bounds included", () => {
    expect(parseIntegerFlag("--vehicles", "0", range)).toBe(0);
    expect(parseIntegerFlag("--vehicles", "1000", range)).toBe(1000);
    expect(parseIntegerFlag("--vehicles", "5000000", range)).toBe(5_000_000);
  });

  it.each(["abc", "", " ", "12abc", "1.5", "1e3", "0x10", "-5", "5000001", "Infinity", "NaN"])(
    "rejects %j naming the flag and the value",
    (raw) => {
      const call = () => parseIntegerFlag("--vehicles", raw, range);
      expect(call).toThrow(UsageError);
      expect(call).toThrow(
        `--vehicles must be an integer between 0 and 5000000, got ${JSON.stringify(raw)}`,
      );
    },
  );
});

describe("parsePositiveFlag", () => {
  it("accepts numbers in (0, max]", () => {
    expect(parsePositiveFlag("--hours", "24", 336)).toBe(24);
    expect(parsePositiveFlag("--hours", "0.5", 336)).toBe(0.5);
    expect(parsePositiveFlag("--hours", ".25", 336)).toBe(0.25);
    expect(parsePositiveFlag("--hours", "336", 336)).toBe(336);
  });

  it.each(["0", "-1", "336.5", "abc", "", "1h", "Infinity"])(
    "rejects %j naming the flag",
    (raw) => {
      expect(() => parsePositiveFlag("--hours", raw, 336)).toThrow(
        /^--hours must be a number greater than 0/,
      );
    },
  );
});

describe("parseInstantFlag", () => {
  it("reads an ISO 8601 date and time, UTC unless it carries an offset", () => {
    expect(parseInstantFlag("--start", "2026-06-01T08:00").toISOString()).toBe(
      "2026-06-01T08:00:00.000Z",
    );
    expect(parseInstantFlag("--start", "2026-06-01T08:00:30Z").toISOString()).toBe(
      "2026-06-01T08:00:30.000Z",
    );
    expect(parseInstantFlag("--start", "2026-06-01T08:00+02:00").toISOString()).toBe(
      "2026-06-01T06:00:00.000Z",
    );
  });

  it.each(["", "tomorrow", "2026-06-01", "2026-13-01T08:00", "2026-06-01 08:00", "08:00"])(
    "rejects %j naming the flag",
    (raw) => {
      expect(() => parseInstantFlag("--start", raw)).toThrow(
        /^--start must be an ISO 8601 date and time/,
      );
    },
  );
});
