import type { SimSummary } from "@nightshift/core/sim/simulate";
import { beforeAll, describe, expect, it } from "vitest";
import { runSimulation, type SimulationRun } from "../src/commands/simulate";
import type { FleetSummary } from "@nightshift/agent/fleet";
import { formatCarbonG, formatEnergyKWh, formatPowerKW, formatUsd } from "@nightshift/units/format";
import {
  chart,
  fitSeries,
  formatCount,
  formatDemoStatus,
  formatFindings,
  formatHours,
  formatInteger,
  formatNumber,
  formatPercent,
  formatReport,
  hoursAxis,
  MAX_COLUMNS,
  niceStep,
  powerUnit,
  summarySections,
  TENANT_HEADINGS,
  tenantTable,
  wrap,
} from "../src/format";

/** Display width of a line: the box-drawing and chart characters used here are one column each. */
const columns = (line: string) => [...line].length;
const widest = (text: string) => Math.max(...text.split("\n").map(columns));

describe("numbers", () => {
  it("formatInteger groups thousands and rounds", () => {
    expect(formatInteger(1_234_567)).toBe("1,234,567");
    expect(formatInteger(999.6)).toBe("1,000");
    expect(formatInteger(0)).toBe("0");
    expect(formatInteger(-0.2)).toBe("0");
  });

  it("formatNumber keeps about four significant digits and drops trailing zeros", () => {
    expect(formatNumber(1_234_567.8)).toBe("1,234,568");
    expect(formatNumber(1234.4)).toBe("1,234");
    expect(formatNumber(123.44)).toBe("123.4");
    expect(formatNumber(12.341)).toBe("12.34");
    expect(formatNumber(1.2341)).toBe("1.234");
    expect(formatNumber(150)).toBe("150");
    expect(formatNumber(0.06)).toBe("0.06");
    expect(formatNumber(0.000305)).toBe("0.000305");
    expect(formatNumber(0.0123456)).toBe("0.0123");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(-2.5)).toBe("-2.5");
  });

  it("formatPercent shows shares as percentages with fixed decimals, null as n/a", () => {
    expect(formatPercent(0.1234)).toBe("12.3%");
    expect(formatPercent(1)).toBe("100.0%");
    expect(formatPercent(0)).toBe("0.0%");
    expect(formatPercent(0.5, 0)).toBe("50%");
    expect(formatPercent(null)).toBe("n/a");
  });

  it("the power chart's scale is the largest unit in which the peak is at least 1", () => {
    expect(powerUnit(950)).toEqual({ unit: "kW", factor: 1 });
    expect(powerUnit(1234)).toEqual({ unit: "MW", factor: 1e3 });
    expect(powerUnit(5.6e6)).toEqual({ unit: "GW", factor: 1e6 });
  });

  it("formatHours", () => {
    expect(formatHours(24)).toBe("24 h");
    expect(formatHours(1.5)).toBe("1.5 h");
    expect(formatHours(50)).toBe("50 h");
    expect(formatHours(72)).toBe("3 days");
    expect(formatHours(336)).toBe("14 days");
  });

  it("formatCount reads large counts in words", () => {
    expect(formatCount(2_412_345)).toBe("2.4 million");
    expect(formatCount(3.1e9)).toBe("3.1 billion");
    expect(formatCount(4567)).toBe("4,567");
  });

  it("wrap keeps every word and every line within the width", () => {
    const text = "one two three four five six seven eight nine ten eleven twelve";
    const wrapped = wrap(text, 15);
    expect(widest(wrapped)).toBeLessThanOrEqual(15);
    expect(wrapped.split(/\s+/).join(" ")).toBe(text);
    expect(wrapped.split("\n").length).toBeGreaterThan(1);
  });
});

describe("charts", () => {
  it("fitSeries averages a long series into buckets", () => {
    const t = [0, 900, 1800, 2700, 3600, 4500, 5400, 6300];
    const fitted = fitSeries(t, [1, 3, 5, 7, 9, 11, 13, 15], 4);
    expect(fitted.y).toEqual([2, 6, 10, 14]);
    expect(fitted.t).toEqual([0, 1800, 3600, 5400]);
  });

  it("fitSeries stretches a short series to the width", () => {
    const fitted = fitSeries([0, 900], [1, 2], 4);
    expect(fitted.y).toEqual([1, 1, 2, 2]);
    expect(fitted.t).toEqual([0, 450, 900, 1350]);
  });

  it("niceStep gives a round step whose top reaches the maximum", () => {
    expect(niceStep(40.02, 10)).toBe(5);
    expect(niceStep(164, 6)).toBe(30);
    expect(niceStep(10, 10)).toBe(1);
    expect(niceStep(0, 5)).toBe(1);
    for (const max of [0.0007, 0.3, 7, 99, 101, 12_345, 4.2e6]) {
      for (const rows of [3, 6, 10]) {
        const step = niceStep(max, rows);
        expect(step * rows).toBeGreaterThanOrEqual(max * (1 - 1e-9));
        // Not wasteful: the top is within twice the maximum.
        expect(step * rows).toBeLessThan(max * 2);
        const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
        expect([1, 1.5, 2, 2.5, 3, 4, 5, 6, 8]).toContainEqual(Number(mantissa.toFixed(6)));
      }
    }
  });

  it("hoursAxis puts round-hour ticks under the points where those hours begin", () => {
    // 24 h sampled every 15 minutes: 96 points.
    const t = Array.from({ length: 96 }, (_, i) => i * 900);
    const [marks, labels] = hoursAxis(t, 2).split("\n") as [string, string];
    // Four points an hour: two hours is the first step at least 8 columns wide.
    const expected = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22];
    for (const h of expected) {
      expect(marks[2 + h * 4]).toBe("┬");
      expect(labels.slice(2 + h * 4).startsWith(String(h))).toBe(true);
    }
    expect([...marks].filter((c) => c === "┬")).toHaveLength(expected.length);
    expect(labels).toMatch(/hours \(UTC\)$/);
  });

  it("chart fits in the page, starts at 0 on a round scale and marks only the first point", () => {
    const t = Array.from({ length: 96 }, (_, i) => i * 900);
    // Peaks near 41: 4.1 a row rounds up to 5, so the axis goes 0, 5 … 50.
    const y = t.map((s) => 31 + 10 * Math.sin(s / 10_000));
    const text = chart(t, y, { title: "Power (kW)", height: 10 });
    const lines = text.split("\n");
    expect(lines[0]).toBe("Power (kW)");
    expect(widest(text)).toBeLessThanOrEqual(MAX_COLUMNS);
    expect(lines[1]?.trimStart().startsWith("50 ")).toBe(true);
    expect(lines[11]?.trimStart().startsWith("0 ")).toBe(true);
    expect(text.match(/┼/g)).toHaveLength(1);
    expect(text).toContain("hours (UTC)");
  });

  it("chart says so when there are too few samples", () => {
    expect(chart([0], [1], { title: "x", height: 5 })).toContain("too few samples");
  });
});

describe("report", () => {
  let result: SimulationRun;
  beforeAll(() => {
    result = runSimulation({ vehicles: 60, hours: 3, seed: 3 });
  });

  it("has the summary sections, the tenant table and both charts, within 100 columns", () => {
    const text = formatReport(result);
    for (const heading of [
      "RUN",
      "AVAILABILITY",
      "WORK",
      "ENERGY AND MONEY",
      "CAPACITY",
      "OWNERS AND VERIFICATION",
    ]) {
      expect(text).toContain(heading);
    }
    for (const heading of TENANT_HEADINGS) expect(text).toContain(heading);
    expect(text).toContain("Available compute power");
    expect(text).toContain("Running tasks");
    expect(text).toContain(`seed 3`);
    expect(text).toContain("starts");
    expect(text).toContain("2025-01-15 00:00 UTC");
    expect(text).toContain(result.summary.referenceDatacenter);
    expect(widest(text)).toBeLessThanOrEqual(MAX_COLUMNS);
  });

  it("shows each tenant, with n/a where a figure was not measured", () => {
    const summary: SimSummary = {
      ...result.summary,
      tenants: result.summary.tenants.map((t, i) =>
        i === 0 ? { ...t, deadlineAttainment: null, quotaAttainment: null } : t,
      ),
    };
    const text = tenantTable(summary);
    for (const t of summary.tenants) expect(text).toContain(t.id);
    const first = text
      .split("\n")
      .find((line) => line.includes(summary.tenants[0]?.id as string)) as string;
    expect(first.match(/n\/a/g)).toHaveLength(2);
  });

  it("a long scenario name wraps instead of widening the table", () => {
    const text = formatReport({
      ...result,
      summary: { ...result.summary, scenario: "word ".repeat(40) },
    });
    expect(widest(text)).toBeLessThanOrEqual(MAX_COLUMNS);
  });

  it("prints energy, power, money and carbon with core's units, as the console does", () => {
    const s = result.summary;
    const rows = new Map(summarySections(s).flatMap((section) => section.rows));
    expect(rows.get("energy")).toBe(
      `${formatEnergyKWh(s.energyKWh)} (grid ${formatEnergyKWh(s.gridEnergyKWh)} · battery ${formatEnergyKWh(s.batteryEnergyKWh)})`,
    );
    expect(rows.get("cost")).toBe(formatUsd(s.costUsd));
    expect(rows.get("carbon")).toBe(formatCarbonG(s.carbonKg * 1000));
    expect(rows.get("owner payout")).toBe(formatUsd(s.ownerPayoutUsd));
    expect(rows.get("available power")).toContain(`peak ${formatPowerKW(s.availableKW.peak)}`);
    // A small run's figures are small: none of them prints as a zero.
    const small = summarySections({
      ...s,
      energyKWh: 0.000267,
      costUsd: 0.000066,
      carbonKg: 0.0001,
    }).flatMap((section) => section.rows);
    const byLabel = new Map(small);
    expect(byLabel.get("energy")).toMatch(/^267 mWh /);
    expect(byLabel.get("cost")).toBe("0.0066¢");
    expect(byLabel.get("carbon")).toBe("100 mg CO₂");
  });

  it("formatFindings says what the run showed, and how many cars make a datacenter", () => {
    const text = formatFindings(result.summary);
    expect(text).toMatch(/^What this showed: of 60 cars/);
    expect(text).toContain(result.summary.referenceDatacenter);
    expect(widest(text)).toBeLessThanOrEqual(MAX_COLUMNS);
    const none = formatFindings({ ...result.summary, datacenterEquivalents: { peak: 0, mean: 0 } });
    expect(none).not.toContain("would take");
  });
});

describe("demo status line", () => {
  const summary: FleetSummary = {
    cars: 50,
    enrolled: 50,
    driving: 3,
    parked: 40,
    charging: 7,
    outbox: 0,
    elapsedS: 60,
    leased: 12,
    computed: 12,
    acknowledged: 12,
    refused: 0,
    failed: 0,
    dropped: 0,
    errors: 0,
    retries: 0,
    idle: {},
    energyWh: 0.0267,
  };

  it("shows the energy of the first tasks in mWh, not as 0.0 Wh", () => {
    expect(formatDemoStatus(summary)).toBe(
      "cars 47 parked · 3 driving · tasks 12 done · 0 errors · 26.7 mWh",
    );
    expect(formatDemoStatus({ ...summary, energyWh: 0 })).toMatch(/ · 0 Wh$/);
    expect(formatDemoStatus({ ...summary, energyWh: 1_234_567, acknowledged: 1_234 })).toBe(
      "cars 47 parked · 3 driving · tasks 1,234 done · 0 errors · 1.23 MWh",
    );
  });
});
