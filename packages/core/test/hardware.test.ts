import { describe, expect, it } from "vitest";
import {
  COLOSSUS_PHASE1,
  HARDWARE,
  REFERENCE_GPU,
  h100Equivalents,
  hardwareById,
} from "../src/hardware";

describe("HARDWARE", () => {
  it("holds the required profiles, each keyed by its own id", () => {
    for (const id of ["fsd-hw3", "drive-orin", "fsd-hw4", "drive-thor", "ai5-class", "h100-sxm"]) {
      expect(HARDWARE[id]?.id).toBe(id);
    }
    for (const [key, h] of Object.entries(HARDWARE)) expect(h.id).toBe(key);
  });

  it("has positive figures and a source for every profile", () => {
    for (const h of Object.values(HARDWARE)) {
      expect(h.peakTops).toBeGreaterThan(0);
      expect(h.inferencePowerW).toBeGreaterThan(0);
      expect(h.memoryGB).toBeGreaterThan(0);
      expect(h.source.length).toBeGreaterThan(40);
    }
  });

  it("keeps the published figures", () => {
    expect(HARDWARE["fsd-hw3"]).toMatchObject({ peakTops: 144, inferencePowerW: 72, memoryGB: 8 });
    expect(HARDWARE["drive-orin"]?.peakTops).toBe(254);
    expect(HARDWARE["h100-sxm"]).toMatchObject({ peakTops: 1979, inferencePowerW: 700, memoryGB: 80 });
    expect(HARDWARE["ai5-class"]?.inferencePowerW).toBe(1000);
  });

  it("marks figures without a public source as assumptions", () => {
    expect(HARDWARE["fsd-hw4"]?.source).toMatch(/assum/i);
    expect(HARDWARE["ai5-class"]?.source).toMatch(/assum/i);
  });
});

describe("hardwareById", () => {
  it("returns the profile", () => {
    expect(hardwareById("fsd-hw3")).toBe(HARDWARE["fsd-hw3"]);
  });

  it("names the unknown id and lists the known ones", () => {
    expect(() => hardwareById("hw9")).toThrow(/"hw9".*fsd-hw3.*h100-sxm/);
  });

  it("does not resolve inherited object keys", () => {
    expect(() => hardwareById("toString")).toThrow(/unknown hardware id/);
  });
});

describe("h100Equivalents", () => {
  it("uses the H100's dense INT8 peak as the unit", () => {
    expect(REFERENCE_GPU.id).toBe("h100-sxm");
    expect(h100Equivalents(1979)).toBe(1);
    expect(h100Equivalents(0)).toBe(0);
    expect(h100Equivalents(144)).toBeCloseTo(0.0728, 4);
  });

  it("sizes Colossus: 200,000 H100s are 200,000 equivalents", () => {
    const tops = COLOSSUS_PHASE1.gpus * COLOSSUS_PHASE1.gpu.peakTops;
    expect(h100Equivalents(tops)).toBeCloseTo(200_000, 6);
    expect(COLOSSUS_PHASE1.powerMW).toBe(150);
  });
});
