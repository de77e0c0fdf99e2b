// Start dates and the simulator's offset tables: on its clock (seconds from the start's UTC
// midnight), covering the run with a margin, the change at the right second, unknown zones named.
import { DEFAULT_SCENARIO } from "@nightshift/core/sim/scenario";
import { describe, expect, it } from "vitest";
import { TimeZoneError } from "../src/offsets";
import { DEFAULT_START_DATE, parseStartDate, simulationOffsets } from "../src/sim-offsets";

const H = 3600;

describe("parseStartDate", () => {
  it("is 00:00 UTC of the date", () => {
    expect(parseStartDate("2025-03-09")).toBe(Date.parse("2025-03-09T00:00:00Z") / 1000);
    expect(parseStartDate("1970-01-01")).toBe(0);
  });

  it("refuses what is not a date, naming start", () => {
    for (const bad of [
      "2025-02-30",
      "2025-3-9",
      "09/03/2025",
      "2025-03-09T00:00Z",
      "",
      "1969-12-31",
    ]) {
      expect(() => parseStartDate(bad)).toThrow(/^start must be a date/);
    }
  });
});

describe("simulationOffsets", () => {
  it("gives standard time all through a run from the default January start", () => {
    const startS = parseStartDate(DEFAULT_START_DATE);
    const offsets = simulationOffsets(DEFAULT_SCENARIO.regions, startS, 14 * 24);
    expect(offsets).toEqual({
      "America/Los_Angeles": [{ fromS: -86_400, offsetS: -8 * H }],
      "America/Chicago": [{ fromS: -86_400, offsetS: -6 * H }],
      "Europe/Stockholm": [{ fromS: -86_400, offsetS: 1 * H }],
    });
  });

  it("puts the change at its second on the simulator's clock", () => {
    // Chicago springs forward at 08:00 UTC on 9 March 2025: 32 h after a start on the 8th.
    const offsets = simulationOffsets(
      [{ timeZone: "America/Chicago" }],
      parseStartDate("2025-03-08"),
      48,
    );
    expect(offsets).toEqual({
      "America/Chicago": [
        { fromS: -86_400, offsetS: -6 * H },
        { fromS: 32 * H, offsetS: -5 * H },
      ],
    });
  });

  it("reads two days past the end (look-ahead) and not beyond", () => {
    // A 24 h run from 7 March: the change at 56 h is within the margin; from 5 March it is not.
    expect(
      simulationOffsets([{ timeZone: "America/Chicago" }], parseStartDate("2025-03-07"), 24)[
        "America/Chicago"
      ],
    ).toHaveLength(2);
    expect(
      simulationOffsets([{ timeZone: "America/Chicago" }], parseStartDate("2025-03-05"), 24)[
        "America/Chicago"
      ],
    ).toHaveLength(1);
  });

  it("names the region of an unknown zone", () => {
    const regions = [{ timeZone: "Europe/Stockholm" }, { timeZone: "Europe/Atlantis" }];
    expect(() => simulationOffsets(regions, 0, 24)).toThrow(TimeZoneError);
    expect(() => simulationOffsets(regions, 0, 24)).toThrow(
      /^regions\[1\]\.timeZone: unknown time zone "Europe\/Atlantis"$/,
    );
  });
});
