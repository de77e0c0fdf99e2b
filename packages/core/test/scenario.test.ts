import { describe, expect, it } from "vitest";
import { DEFAULT_SCENARIO, parseScenario, ScenarioError } from "../src/sim/scenario";

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseScenario(input);
  } catch (error) {
    if (error instanceof ScenarioError) return error.issues;
    throw error;
  }
  throw new Error("expected the scenario to be rejected");
}

describe("parseScenario", () => {
  it("returns the default for an empty override and merges partial ones", () => {
    expect(parseScenario({})).toEqual(DEFAULT_SCENARIO);
    const s = parseScenario({ workload: { intensity: 0.5 }, participation: { optInShare: 0.9 } });
    expect(s.workload.intensity).toBe(0.5);
    expect(s.workload.streams).toEqual(DEFAULT_SCENARIO.workload.streams);
    expect(s.participation.optInShare).toBe(0.9);
    expect(s.participation.reservePct).toEqual(DEFAULT_SCENARIO.participation.reservePct);
  });

  it("names the field of a wrong type, deep inside", () => {
    expect(issuesOf({ mobility: { batteryKWh: { min: "big", max: 80 } } })).toEqual([
      expect.objectContaining({ path: "mobility.batteryKWh.min" }),
    ]);
  });

  it("rejects a tariff with a gap, naming the region's tariff", () => {
    const region = {
      ...DEFAULT_SCENARIO.regions[0],
      tariff: [
        { start: 0, end: 6, priceUsdPerKWh: 0.2 },
        { start: 7, end: 24, priceUsdPerKWh: 0.3 },
      ],
    };
    const issues = issuesOf({ regions: [region] });
    expect(issues[0]?.path).toBe("regions[0].tariff");
    expect(issues[0]?.message).toMatch(/gap/);
  });

  it("takes an IANA time zone per region, and refuses a malformed one by name", () => {
    expect(DEFAULT_SCENARIO.regions.map((r) => r.timeZone)).toEqual([
      "America/Los_Angeles",
      "America/Chicago",
      "Europe/Stockholm",
    ]);
    const region = { ...DEFAULT_SCENARIO.regions[0], timeZone: "Etc/GMT+8" };
    expect(parseScenario({ regions: [region] }).regions[0]?.timeZone).toBe("Etc/GMT+8");
    for (const timeZone of ["", "+01:00", "America/", "Los Angeles", 7]) {
      expect(issuesOf({ regions: [{ ...region, timeZone }] })).toEqual([
        expect.objectContaining({ path: "regions[0].timeZone" }),
      ]);
    }
    const { timeZone: _zone, ...noZone } = region;
    expect(issuesOf({ regions: [noZone] })).toEqual([expect.objectContaining({ path: "regions[0].timeZone" })]);
  });

  it("refuses the retired utcOffsetH with the way to the time zone that replaces it", () => {
    const { timeZone: _zone, ...old } = DEFAULT_SCENARIO.regions[0]!;
    const issues = issuesOf({ regions: [{ ...old, utcOffsetH: -8 }] });
    expect(issues).toEqual([
      { path: "regions[0].utcOffsetH", message: expect.stringMatching(/^replaced by timeZone/) },
    ]);
    // Beside a zone, the same message (the offset would say nothing the zone does not).
    expect(issuesOf({ regions: [{ ...old, timeZone: "America/Chicago", utcOffsetH: -6 }] })).toEqual([
      { path: "regions[0].utcOffsetH", message: expect.stringMatching(/^replaced by timeZone/) },
    ]);
  });

  it("rejects references to unknown tenants and models", () => {
    const stream = { ...DEFAULT_SCENARIO.workload.streams[0], tenantId: "nobody", modelId: "nothing" };
    const paths = issuesOf({ workload: { streams: [stream] } }).map((i) => i.path);
    expect(paths).toContain("workload.streams[0].tenantId");
    expect(paths).toContain("workload.streams[0].modelId");
  });

  it("rejects out-of-range numbers, unknown keys and duplicates", () => {
    expect(issuesOf({ participation: { optInShare: 1.5 } })[0]?.path).toBe("participation.optInShare");
    expect(issuesOf({ workload: { intensity: -1 } })[0]?.path).toBe("workload.intensity");
    expect(issuesOf({ tickS: Number.NaN })[0]?.path).toBe("tickS");
    expect(issuesOf({ colour: "red" })[0]?.message).toMatch(/colour/);
    const tenant = DEFAULT_SCENARIO.tenants[0];
    expect(issuesOf({ tenants: [tenant, tenant] })[0]?.path).toBe("tenants[1].id");
    expect(issuesOf({ hardwareMix: [{ hardwareId: "abacus", share: 1 }] })[0]?.path).toBe(
      "hardwareMix[0].hardwareId",
    );
  });

  it("rejects what is not an object", () => {
    expect(issuesOf([])[0]?.message).toMatch(/object/);
    expect(issuesOf(null)[0]?.message).toMatch(/object/);
  });
});
