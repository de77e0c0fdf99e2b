// Intl's zone database into offset tables: the 2025 and 2026 changes of the default scenario's
// zones at their tzdata instants, zones a fraction of an hour off UTC, names Intl accepts and
// refuses, the hourly cache, and core's tariff read through a table made here.
import { localHour, priceAt } from "@nightshift/core/tariff";
import { DEFAULT_SCENARIO } from "@nightshift/core/sim/scenario";
import { describe, expect, it } from "vitest";
import {
  canonicalTimeZone,
  formatUtcOffset,
  offsetsAround,
  offsetTable,
  TimeZoneError,
  utcOffsetS,
} from "../src/offsets";

const H = 3600;
const at = (iso: string) => Date.parse(iso) / 1000;

/** Each default zone's changes: the first second on the new offset, and the offsets around it. */
const CHANGES = [
  // US: second Sunday of March and first Sunday of November, 02:00 local.
  ["America/Los_Angeles", "2025-03-09T10:00:00Z", -8, -7],
  ["America/Los_Angeles", "2025-11-02T09:00:00Z", -7, -8],
  ["America/Los_Angeles", "2026-03-08T10:00:00Z", -8, -7],
  ["America/Los_Angeles", "2026-11-01T09:00:00Z", -7, -8],
  ["America/Chicago", "2025-03-09T08:00:00Z", -6, -5],
  ["America/Chicago", "2025-11-02T07:00:00Z", -5, -6],
  ["America/Chicago", "2026-03-08T08:00:00Z", -6, -5],
  ["America/Chicago", "2026-11-01T07:00:00Z", -5, -6],
  // EU: last Sunday of March and of October, 01:00 UTC.
  ["Europe/Stockholm", "2025-03-30T01:00:00Z", 1, 2],
  ["Europe/Stockholm", "2025-10-26T01:00:00Z", 2, 1],
  ["Europe/Stockholm", "2026-03-29T01:00:00Z", 1, 2],
  ["Europe/Stockholm", "2026-10-25T01:00:00Z", 2, 1],
] as const;

describe("utcOffsetS", () => {
  it.each(CHANGES)("%s changes at %s from UTC%d to UTC%d", (zone, iso, beforeH, afterH) => {
    expect(utcOffsetS(zone, at(iso) - 1)).toBe(beforeH * H);
    expect(utcOffsetS(zone, at(iso))).toBe(afterH * H);
  });

  it("reads zones a fraction of an hour off UTC, and the southern summer", () => {
    expect(utcOffsetS("Asia/Kolkata", at("2025-07-01T00:00:00Z"))).toBe(5.5 * H);
    expect(utcOffsetS("Asia/Kathmandu", at("2025-07-01T00:00:00Z"))).toBe(5.75 * H);
    expect(utcOffsetS("Australia/Sydney", at("2025-01-15T00:00:00Z"))).toBe(11 * H);
    expect(utcOffsetS("Australia/Sydney", at("2025-07-15T00:00:00Z"))).toBe(10 * H);
    expect(utcOffsetS("Etc/GMT+8", at("2025-07-01T00:00:00Z"))).toBe(-8 * H);
    expect(utcOffsetS("UTC", 0)).toBe(0);
  });

  it("refuses an unknown zone and an instant Intl cannot place", () => {
    expect(() => utcOffsetS("Mars/Olympus_Mons", 0)).toThrow(TimeZoneError);
    expect(() => utcOffsetS("UTC", Number.NaN)).toThrow(RangeError);
    expect(() => utcOffsetS("UTC", 1e15)).toThrow(RangeError);
  });
});

describe("offsetTable", () => {
  it("finds both changes of each default zone in 2025, to the second", () => {
    const year = [at("2025-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z")] as const;
    for (const zone of ["America/Los_Angeles", "America/Chicago", "Europe/Stockholm"]) {
      const changes = CHANGES.filter((c) => c[0] === zone && c[1].startsWith("2025"));
      expect(offsetTable(zone, ...year)).toEqual([
        { fromS: year[0], offsetS: changes[0]![2] * H },
        ...changes.map(([, iso, , afterH]) => ({ fromS: at(iso), offsetS: afterH * H })),
      ]);
    }
  });

  it("is one entry where nothing changes, and refuses a backwards range", () => {
    expect(offsetTable("Asia/Tokyo", 0, 400 * 86_400)).toEqual([{ fromS: 0, offsetS: 9 * H }]);
    expect(offsetTable("Europe/Stockholm", 1.5, 2.5)).toEqual([{ fromS: 1, offsetS: 1 * H }]);
    expect(() => offsetTable("UTC", 10, 0)).toThrow(RangeError);
  });
});

describe("offsetsAround", () => {
  it("covers two days back and sixteen ahead of the hour, made once per zone and hour", () => {
    const nowS = at("2025-10-20T12:34:56Z");
    const table = offsetsAround("Europe/Stockholm", nowS);
    expect(table).toEqual([
      { fromS: at("2025-10-18T12:00:00Z"), offsetS: 2 * H },
      { fromS: at("2025-10-26T01:00:00Z"), offsetS: 1 * H },
    ]);
    expect(offsetsAround("Europe/Stockholm", nowS + 60)).toBe(table);
    expect(offsetsAround("Europe/Stockholm", nowS + H)).not.toBe(table);
  });

  it("makes core's tariff follow the clocks across a change", () => {
    // The default scenario's US West: off-peak until 06:00, then $0.38. At 13:30 UTC on the
    // morning of the spring change the clocks read 06:30 PDT; the day before, 05:30 PST.
    const { fleetShare: _share, ...west } = DEFAULT_SCENARIO.regions[0]!;
    const nowS = at("2025-03-09T13:30:00Z");
    const region = { ...west, offsets: offsetsAround(west.timeZone, nowS) };
    expect(localHour(region, nowS)).toBe(6.5);
    expect(priceAt(region, nowS)).toBe(0.38);
    expect(localHour(region, nowS - 24 * H)).toBe(5.5);
    expect(priceAt(region, nowS - 24 * H)).toBe(0.28);
  });
});

describe("canonicalTimeZone", () => {
  it("accepts IANA names and links, spelling a name as the database does", () => {
    expect(canonicalTimeZone("America/Chicago")).toBe("America/Chicago");
    expect(canonicalTimeZone("america/chicago")).toBe("America/Chicago");
    expect(canonicalTimeZone("Etc/GMT+8")).toBe("Etc/GMT+8");
    expect(canonicalTimeZone("UTC")).toBe("UTC");
    // Links stay as given (ICU would rename Asia/Kolkata to Asia/Calcutta).
    expect(canonicalTimeZone("Asia/Kolkata")).toBe("Asia/Kolkata");
    expect(canonicalTimeZone("US/Pacific")).toBe("US/Pacific");
  });

  it("refuses what is not a zone", () => {
    for (const bad of ["", "Nowhere/Special", "+01:00", "-05", "America/", "x".repeat(65)]) {
      expect(canonicalTimeZone(bad)).toBeNull();
    }
  });
});

describe("formatUtcOffset", () => {
  it("writes hours, and minutes when there are some", () => {
    expect(formatUtcOffset(-7 * H)).toBe("UTC−7");
    expect(formatUtcOffset(5.5 * H)).toBe("UTC+5:30");
    expect(formatUtcOffset(5.75 * H)).toBe("UTC+5:45");
    expect(formatUtcOffset(-3.5 * H)).toBe("UTC−3:30");
    expect(formatUtcOffset(0)).toBe("UTC+0");
  });
});
