// Turns a simulation result into text for people: numbers with thousands separators and sensible
// decimals, a summary table, a per-tenant table and text charts over time. Pure functions of the
// result, so the same result always prints the same text. Numbers use the en-US locale whatever
// the machine's, so output and tests do not depend on where they run. Energy, power, money and
// carbon are printed by core's units module, as the console prints them.
import { plot } from "asciichart";
import Table from "cli-table3";
import type { FleetSummary } from "@nightshift/agent/fleet";
import type { SimResult, SimSample, SimSummary } from "@nightshift/core/sim/simulate";
import { formatCarbonG, formatEnergyKWh, formatPowerKW, formatUsd } from "@nightshift/units/format";

/** Everything printed stays within this many columns. */
export const MAX_COLUMNS = 100;

const formatters = new Map<string, Intl.NumberFormat>();

function numberFormat(options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = JSON.stringify(options);
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat("en-US", options);
    formatters.set(key, f);
  }
  return f;
}

/** -0 and tiny negatives that round to zero print as "0", not "-0". */
function noNegativeZero(text: string): string {
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** Exactly `decimals` decimals: for columns of figures that should line up. */
function fixed(x: number, decimals: number): string {
  return noNegativeZero(
    numberFormat({ minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(x),
  );
}

/** 1234567 → "1,234,567". */
export function formatInteger(n: number): string {
  return fixed(Math.round(n), 0);
}

/**
 * About four significant digits, fewer decimals as numbers grow (1,234 · 123.4 · 12.34 · 1.234),
 * three significant digits below 1 (0.0123), so small ratios keep their information and large
 * figures do not show noise. Trailing zeros are dropped: 150 MW, not 150.0 MW.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a === 0) return "0";
  const options: Intl.NumberFormatOptions =
    a >= 1
      ? { maximumFractionDigits: Math.max(0, 3 - Math.floor(Math.log10(a))) }
      : { maximumSignificantDigits: 3 };
  return noNegativeZero(numberFormat(options).format(x));
}

/** A share in [0, 1] as a percentage: 0.1234 → "12.3%"; null (not measured) → "n/a". */
export function formatPercent(share: number | null, decimals = 1): string {
  return share === null ? "n/a" : `${fixed(share * 100, decimals)}%`;
}

const POWER_UNITS = [
  { unit: "kW", factor: 1 },
  { unit: "MW", factor: 1e3 },
  { unit: "GW", factor: 1e6 },
] as const;

/** The largest unit in which `kW` is at least 1 (kW, MW or GW): the power chart's scale. */
export function powerUnit(kW: number): { unit: string; factor: number } {
  let best: { unit: string; factor: number } = POWER_UNITS[0];
  for (const u of POWER_UNITS) if (Math.abs(kW) >= u.factor) best = u;
  return best;
}

/** Simulated duration: "24 h", "1.5 h", "14 days" for whole days beyond two. */
export function formatHours(hours: number): string {
  if (hours >= 48 && hours % 24 === 0) return `${hours / 24} days`;
  return `${formatNumber(hours)} h`;
}

/** Breaks text into lines of at most `width` columns at spaces. */
export function wrap(text: string, width = MAX_COLUMNS - 2): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.join("\n");
}

// ---- tables ----

/** No colours: output is often piped or captured, and colour codes would break alignment there. */
const PLAIN = { head: [] as string[], border: [] as string[] };

type Row = [label: string, value: string];
type Section = { title: string; rows: Row[] };

/** The run's figures, grouped for reading top to bottom; `start` is the run's UTC start date. */
export function summarySections(s: SimSummary, start?: string): Section[] {
  const v = s.verification;
  const both = (x: { peak: number; mean: number }, f: (n: number) => string) =>
    `peak ${f(x.peak)} · mean ${f(x.mean)}`;
  return [
    {
      title: "Run",
      rows: [
        ["scenario", s.scenario],
        ["vehicles", formatInteger(s.vehicles)],
        ["simulated", `${formatHours(s.hours)}, seed ${s.seed}`],
        ...(start === undefined ? [] : [["starts", `${start} 00:00 UTC`] as Row]),
      ],
    },
    {
      title: "Availability (time-averaged share of the fleet)",
      rows: [
        ["parked", formatPercent(s.parkedShare)],
        ["plugged in", formatPercent(s.pluggedShare)],
        ["eligible for work", formatPercent(s.eligibleShare)],
      ],
    },
    {
      title: "Work",
      rows: [
        ["tasks completed", `${formatInteger(s.tasksCompleted)} (validated)`],
        ["tasks lost to departures", formatInteger(s.tasksLostToDepartures)],
        ["tasks preempted", formatInteger(s.tasksPreempted)],
      ],
    },
    {
      title: "Energy and money",
      rows: [
        [
          "energy",
          `${formatEnergyKWh(s.energyKWh)} (grid ${formatEnergyKWh(s.gridEnergyKWh)} · battery ${formatEnergyKWh(s.batteryEnergyKWh)})`,
        ],
        ["cost", formatUsd(s.costUsd)],
        ["cost per kWh", s.costUsdPerKWh === null ? "n/a" : formatUsd(s.costUsdPerKWh)],
        ["carbon", formatCarbonG(s.carbonKg * 1000)],
        ["owner payout", formatUsd(s.ownerPayoutUsd)],
      ],
    },
    {
      title: "Capacity",
      rows: [
        [
          "available power",
          `peak ${formatPowerKW(s.availableKW.peak)} · mean ${formatPowerKW(s.availableKW.mean)} · min ${formatPowerKW(s.availableKW.min)}`,
        ],
        ["H100 equivalents", both(s.h100Equivalents, formatNumber)],
        [
          "reference datacenter",
          `${s.referenceDatacenter}, ${formatNumber(s.referenceDatacenterMW)} MW`,
        ],
        ["datacenters, by compute", both(s.datacenterEquivalents, formatNumber)],
        ["datacenters, by power", both(s.datacenterPowerEquivalents, formatNumber)],
      ],
    },
    {
      title: "Owners and verification",
      rows: [
        [
          "min reserve margin",
          `${formatNumber(s.minReserveMarginPct)} points above the owner's reserve`,
        ],
        [
          "below owner's minimum",
          `${formatInteger(s.departuresBelowOwnerMinimum)} of ${formatInteger(s.departures)} departures`,
        ],
        ["verification overhead", `${formatPercent(v.overheadShare)} extra executions`],
        ["wrong results accepted", formatInteger(v.wrongResultsAccepted)],
        [
          "cheaters quarantined",
          `${formatInteger(v.cheatersQuarantined)} of ${formatInteger(v.cheaters)} (honest cars quarantined: ${formatInteger(v.honestQuarantined)})`,
        ],
      ],
    },
  ];
}

const LABEL_WIDTH = 26;
const VALUE_WIDTH = 66;

export function summaryTable(s: SimSummary, start?: string): string {
  const table = new Table({
    colWidths: [LABEL_WIDTH, VALUE_WIDTH],
    wordWrap: true,
    style: { ...PLAIN, compact: true },
  });
  for (const section of summarySections(s, start)) {
    table.push([{ colSpan: 2, content: section.title.toUpperCase() }]);
    for (const row of section.rows) table.push(row);
  }
  return table.toString();
}

export const TENANT_HEADINGS = [
  "tenant",
  "quota",
  "demand",
  "delivered",
  "usage",
  "quota attained",
  "deadlines met",
  "jobs done",
];

export function tenantTable(s: SimSummary): string {
  const table = new Table({
    head: TENANT_HEADINGS,
    colAligns: ["left", "right", "right", "right", "right", "right", "right", "right"],
    style: { ...PLAIN, compact: true },
  });
  for (const t of s.tenants) {
    table.push([
      t.id,
      formatPercent(t.quotaShare),
      formatPercent(t.demandShare),
      formatPercent(t.deliveredShare),
      formatPercent(t.usageShare),
      formatPercent(t.quotaAttainment),
      formatPercent(t.deadlineAttainment),
      `${formatInteger(t.jobs.completed)} / ${formatInteger(t.jobs.arrived)}`,
    ]);
  }
  return table.toString();
}

// ---- charts ----

/**
 * Fits an evenly sampled series to exactly `width` points: point j averages the samples that fall
 * in its share of the time span (so long series are averaged, short ones stretched). `t` is in
 * seconds; the returned `t` is each point's start time.
 */
export function fitSeries(
  t: readonly number[],
  y: readonly number[],
  width: number,
): { t: number[]; y: number[] } {
  const n = Math.min(t.length, y.length);
  if (n === 0 || width < 1) return { t: [], y: [] };
  const t0 = t[0] as number;
  const dt = n > 1 ? ((t[n - 1] as number) - t0) / (n - 1) : 0;
  const out = { t: [] as number[], y: [] as number[] };
  for (let j = 0; j < width; j++) {
    const from = Math.floor((j * n) / width);
    const to = Math.max(from + 1, Math.floor(((j + 1) * n) / width));
    let sum = 0;
    for (let i = from; i < to; i++) sum += y[i] as number;
    out.t.push(t0 + ((j * n) / width) * dt);
    out.y.push(sum / (to - from));
  }
  return out;
}

/**
 * A round step for `rows` rows that reaches `max`: 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k, so the
 * axis reads 0, 5, 10 … rather than 0, 4.002, 8.005 ….
 */
export function niceStep(max: number, rows: number): number {
  if (!(max > 0) || rows < 1) return 1;
  const raw = max / rows;
  const power = 10 ** Math.floor(Math.log10(raw));
  const mantissa =
    [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * power >= raw * (1 - 1e-12)) ?? 10;
  return mantissa * power;
}

/** Ticks every 1, 2, 3, 6, 12 or 24·k hours, at least `minGap` columns apart. */
export function hoursAxis(t: readonly number[], indent: number, minGap = 8): string {
  if (t.length === 0) return "";
  const lastS = t[t.length - 1] as number;
  const perColumnH = t.length > 1 ? (lastS - (t[0] as number)) / 3600 / (t.length - 1) : 1;
  const steps = [1, 2, 3, 6, 12, 24, 48, 72, 168];
  const stepH = steps.find((h) => h / perColumnH >= minGap) ?? 168;
  const marks = [..."─".repeat(t.length)];
  const labels = [..." ".repeat(t.length + 8)];
  for (let h = Math.ceil((t[0] as number) / 3600 / stepH) * stepH; h * 3600 <= lastS; h += stepH) {
    const column = t.findIndex((x) => x >= h * 3600 - 1e-6);
    if (column < 0) break;
    marks[column] = "┬";
    [...String(h)].forEach((c, k) => (labels[column + k] = c));
  }
  const pad = " ".repeat(indent);
  return `${pad}${marks.join("")}\n${pad}${labels.join("").trimEnd()}  hours (UTC)`;
}

export interface ChartOptions {
  title: string;
  /** Rows between 0 and the top of the axis. */
  height: number;
  /** Points across; the y labels and the axis take Y_LABEL_WIDTH + 2 more. */
  width?: number;
}

const Y_LABEL_WIDTH = 9;

/** A line chart of `y` over time `t` (seconds), from 0 up on a round scale, with an hours axis. */
export function chart(
  t: readonly number[],
  y: readonly number[],
  { title, height, width = 72 }: ChartOptions,
): string {
  const columns = Math.min(width, MAX_COLUMNS - Y_LABEL_WIDTH - 2 - 14);
  if (Math.min(t.length, y.length) < 2) return `${title}\n  (too few samples to chart)`;
  const fitted = fitSeries(t, y, columns);
  const step = niceStep(Math.max(...fitted.y), height);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + 1);
  const tick = numberFormat({ maximumFractionDigits: decimals });
  const body = plot(fitted.y, {
    height,
    min: 0,
    max: step * height,
    format: (x) => noNegativeZero(tick.format(x)).padStart(Y_LABEL_WIDTH),
  });
  // asciichart marks the first point with "┼" on the axis column, right after the label and a
  // space, but also marks the top row that way; keep only the first point's mark.
  const axis = Y_LABEL_WIDTH + 1;
  const lines = body.split("\n");
  const firstRow = height - Math.round((fitted.y[0] as number) / step);
  lines.forEach((line, row) => {
    if (row !== firstRow && line[axis] === "┼")
      lines[row] = `${line.slice(0, axis)}┤${line.slice(axis + 1)}`;
  });
  return `${title}\n${lines.join("\n")}\n${hoursAxis(fitted.t, axis)}`;
}

/** Available power over time, in kW, MW or GW by the series' peak. */
export function powerChart(series: readonly SimSample[]): string {
  const peak = Math.max(0, ...series.map((s) => s.availableKW));
  const { unit, factor } = powerUnit(peak);
  return chart(
    series.map((s) => s.t),
    series.map((s) => s.availableKW / factor),
    {
      title: `Available compute power (${unit}): eligible cars × their inference power`,
      height: 10,
    },
  );
}

export function runningChart(series: readonly SimSample[]): string {
  return chart(
    series.map((s) => s.t),
    series.map((s) => s.runningTasks),
    { title: "Running tasks: cars computing at the same time", height: 6 },
  );
}

/** The whole human report of a run (and the UTC date it started on, when known). */
export function formatReport(result: SimResult & { start?: string }): string {
  const { summary, series } = result;
  return [
    "Nightshift fleet simulation",
    summaryTable(summary, result.start),
    "",
    "Tenants (shares of compute; usage averaged over time)",
    tenantTable(summary),
    "",
    powerChart(series),
    "",
    runningChart(series),
    "",
  ].join("\n");
}

/** What a run showed, in a sentence or two: for the demo. */
export function formatFindings(s: SimSummary): string {
  const perDatacenter =
    s.datacenterEquivalents.mean > 0 ? s.vehicles / s.datacenterEquivalents.mean : null;
  const parts = [
    `What this showed: of ${formatInteger(s.vehicles)} cars, on average ${formatPercent(s.eligibleShare)} were parked,`,
    `opted in and charged enough to take work, offering ${formatPowerKW(s.availableKW.mean)}`,
    `(${formatNumber(s.h100Equivalents.mean)} H100s of compute; peak ${formatPowerKW(s.availableKW.peak)}).`,
    `They completed ${formatInteger(s.tasksCompleted)} validated tasks for ${formatUsd(s.costUsd)}`,
    `and paid owners ${formatUsd(s.ownerPayoutUsd)}.`,
  ];
  if (perDatacenter !== null) {
    parts.push(
      `At this availability, matching ${s.referenceDatacenter}, ${formatNumber(s.referenceDatacenterMW)} MW, by compute`,
      `would take about ${formatCount(perDatacenter)} such cars.`,
    );
  }
  return wrap(parts.join(" "));
}

/** A large count in words people read quickly: "12.3 million", "4,567". */
export function formatCount(n: number): string {
  const two = numberFormat({ maximumSignificantDigits: 2 });
  if (n >= 1e9) return `${two.format(n / 1e9)} billion`;
  if (n >= 1e6) return `${two.format(n / 1e6)} million`;
  return formatInteger(n);
}

/**
 * The demo's status line: the headless fleet's cars and the work done since it started. Energy
 * in the unit its size reads best in (the first minutes of a demo are a few mWh, not "0.0 Wh").
 */
export function formatDemoStatus(s: FleetSummary): string {
  return [
    `cars ${formatInteger(s.parked + s.charging)} parked`,
    `${formatInteger(s.driving)} driving`,
    `tasks ${formatInteger(s.acknowledged)} done`,
    `${formatInteger(s.errors)} errors`,
    formatEnergyKWh(s.energyWh / 1000),
  ].join(" · ");
}
