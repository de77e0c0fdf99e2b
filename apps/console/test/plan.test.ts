// The planner's parameters: a start date is checked before the worker runs, and every problem
// names its field in the form's words.
import { describe, expect, it } from "vitest";
import { checkParams, type PlanParams } from "../src/app/(console)/planner/plan";

const OK: PlanParams = {
  vehicles: 100,
  hours: 24,
  seed: 1,
  startDate: "2025-03-08",
  optInShare: 0.6,
  plugInProbability: 0.8,
  reserveMinPct: 20,
  reserveMaxPct: 40,
  hardwareMix: { "fsd-hw3": 1, "drive-orin": 1, "fsd-hw4": 1, "drive-thor": 1, "ai5-class": 1 },
};

describe("checkParams", () => {
  it("accepts a real date", () => {
    expect(checkParams(OK)).toEqual([]);
  });

  it("names the start date when it is not one (an emptied date field gives '')", () => {
    for (const startDate of ["", "2025-02-30", "1969-12-31", "2200-01-01"]) {
      expect(checkParams({ ...OK, startDate })).toEqual(["Start date: a date from 1970 to 2199"]);
    }
  });
});
