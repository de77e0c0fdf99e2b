// Figures with units, for people: energy, power, money, carbon and shares, each in the unit that
// reads best at its size (0.000267 kWh is "267 mWh", $0.000066 is "0.0066¢"). One module for the
// console (in the browser) and the CLI (in a terminal), so both print the same figure the same
// way. No clock and no locale of the machine (en-US grouping always, so output and tests do not
// depend on where they run); not in core, whose purity rules forbid even Intl.

/** What a figure that is not a number (NaN, ±Infinity) prints as. */
export const NOT_A_FIGURE = "—";

/** Significant digits of every figure: enough to compare, few enough to read at a glance. */
const SIGNIFICANT = 3;

/** One rung of a unit ladder: its symbol and its size in the input's unit. */
interface Rung {
  symbol: string;
  /** How many input units one of this unit is (1 kWh in kWh is 1; 1 Wh is 1e-3). */
  size: number;
}

/** Units from small to large, each 1,000× the one before, and a separator before the symbol. */
interface Ladder {
  rungs: readonly Rung[];
  /** The unit zero is shown in. */
  zero: Rung;
  /** " " for "1.2 kWh"; "" for "12¢". */
  gap: string;
  /** After the symbol: " CO₂". */
  suffix: string;
}

const ladder = (
  symbols: readonly string[],
  inputIndex: number,
  zeroIndex: number,
  suffix = "",
): Ladder => {
  const rungs = symbols.map((symbol, i) => ({ symbol, size: 1000 ** (i - inputIndex) }));
  return { rungs, zero: rungs[zeroIndex]!, gap: " ", suffix };
};

/** Energy, given in kWh: mWh … TWh; zero is "0 Wh". */
const ENERGY = ladder(["mWh", "Wh", "kWh", "MWh", "GWh", "TWh"], 2, 1);
/** Power, given in kW: W … TW; zero is "0 W". */
const POWER = ladder(["W", "kW", "MW", "GW", "TW"], 1, 0);
/** Mass of CO₂, given in grams: mg … Mt; zero is "0 g CO₂". */
const CARBON = ladder(["mg", "g", "kg", "t", "kt", "Mt"], 1, 1, " CO₂");

// Building an Intl formatter costs far more than using one, and live pages format thousands of
// figures a minute: each distinct set of options gets one formatter, kept.
const formats = new Map<string, Intl.NumberFormat>();

function numberFormat(options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = JSON.stringify(options);
  let format = formats.get(key);
  if (!format) {
    format = new Intl.NumberFormat("en-US", options);
    formats.set(key, format);
  }
  return format;
}

/** "-0" and "-0.00" (a tiny negative rounded away) print without the sign. */
function noNegativeZero(text: string): string {
  return /^-[0.,]+$/.test(text) ? text.slice(1) : text;
}

/** `x` rounded to `digits` significant digits, as a number (for choosing units after rounding). */
function roundSignificant(x: number, digits: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(digits));
}

const SUPERSCRIPT: Record<string, string> = {
  "-": "⁻",
  "0": "⁰",
  "1": "¹",
  "2": "²",
  "3": "³",
  "4": "⁴",
  "5": "⁵",
  "6": "⁶",
  "7": "⁷",
  "8": "⁸",
  "9": "⁹",
};

/** 9.88e-8 → "9.88×10⁻⁸": a power of ten as people write it, not as "9.88E-8". */
function scientific(x: number, digits: number): string {
  const [mantissa, exponent] = x.toExponential(digits - 1).split("e") as [string, string];
  const shortMantissa = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
  const power = String(Number(exponent)).replace(/./g, (c) => SUPERSCRIPT[c] ?? c);
  return `${shortMantissa}×10${power}`;
}

/**
 * `x` to `digits` significant digits with thousands separators and no trailing zeros
 * (1234567 → "1,234,567"; 0.0123456 → "0.0123"). Magnitudes below 0.0001 are written with a
 * power of ten ("1.23×10⁻⁷"), which stays short where a decimal would run to a row of zeros.
 */
export function formatSignificant(x: number, digits = SIGNIFICANT): string {
  if (!Number.isFinite(x)) return NOT_A_FIGURE;
  if (x === 0) return "0";
  if (Math.abs(x) < 1e-4) return scientific(x, digits);
  // Whole digits are never dropped: 1,234,567 with three significant digits is 1,230,000, which
  // reads as a precision the figure has not got; a large figure keeps its integer part instead.
  const options: Intl.NumberFormatOptions =
    Math.abs(x) >= 10 ** digits
      ? { maximumFractionDigits: 0 }
      : { maximumSignificantDigits: digits };
  return noNegativeZero(numberFormat(options).format(x));
}

/**
 * The rung a value is shown in: the largest in which it is at least 1 once rounded as it will be
 * printed (so 999.96 W is "1 kW", not "1,000 W"), else the smallest.
 */
function rungFor(l: Ladder, value: number): Rung {
  const shown = (i: number) => Math.abs(roundSignificant(value / l.rungs[i]!.size, SIGNIFICANT));
  let i = l.rungs.length - 1;
  while (i > 0 && shown(i) < 1) i--;
  // Dividing by each rung rounds differently (0.0009995 / 1e-6 is 999.5000000000001): a value
  // that prints as 1,000 of one unit moves up to the next.
  while (i < l.rungs.length - 1 && shown(i) >= 1000) i++;
  return l.rungs[i]!;
}

function withUnit(l: Ladder, value: number): string {
  if (!Number.isFinite(value)) return NOT_A_FIGURE;
  const rung = value === 0 ? l.zero : rungFor(l, value);
  return `${formatSignificant(value / rung.size)}${l.gap}${rung.symbol}${l.suffix}`;
}

/** 0.000267 → "267 mWh", 0.9996 → "1 kWh", 12_340 → "12.3 MWh"; 0 → "0 Wh". */
export function formatEnergyKWh(energyKWh: number): string {
  return withUnit(ENERGY, energyKWh);
}

/** 0.072 → "72 W", 950 → "950 kW", 1234 → "1.23 MW", 5.6e6 → "5.6 GW"; 0 → "0 W". */
export function formatPowerKW(powerKW: number): string {
  return withUnit(POWER, powerKW);
}

/** Grams of CO₂: 0.056 → "56 mg CO₂", 93_940 → "93.9 kg CO₂", 1.25e7 → "12.5 t CO₂". */
export function formatCarbonG(carbonG: number): string {
  return withUnit(CARBON, carbonG);
}

/**
 * US dollars: whole dollars from $1,000 ("$12,346"), dollars and cents from $1 ("$12.30"), cents
 * below a dollar to three significant digits ("12.3¢", "0.0066¢"); zero is "$0.00".
 */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return NOT_A_FIGURE;
  if (usd === 0) return "$0.00";
  const sign = usd < 0 ? "-" : "";
  const a = Math.abs(usd);
  // Rounded first, so that $0.9996 is "$1.00" and not "100¢".
  if (roundSignificant(a * 100, SIGNIFICANT) < 100) return `${sign}${formatSignificant(a * 100)}¢`;
  if (Math.round(a * 100) / 100 < 1000) {
    return `${sign}$${numberFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(a)}`;
  }
  return `${sign}$${numberFormat({ maximumFractionDigits: 0 }).format(a)}`;
}

/** A share as a percentage to three significant digits: 0.0000107 → "0.00107%", 2.5 → "250%". */
export function formatShare(share: number): string {
  if (!Number.isFinite(share)) return NOT_A_FIGURE;
  return `${formatSignificant(share * 100)}%`;
}

// ---- chart axes: one unit for every tick ----

/**
 * A round step for an axis from 0 to `max` in about `count` steps: 1, 2, 2.5 or 5 × 10^k, so the
 * axis reads 0, 0.5, 1 … rather than 0, 0.4002, 0.8005 ….
 */
export function niceStep(max: number, count: number): number {
  if (!(max > 0) || !Number.isFinite(max) || count < 1) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const mantissa = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw * (1 - 1e-12)) ?? 10;
  // 1 × 10^-4 is 0.00009999999999999999 in floating point: rounded to the digits that matter.
  return Number((mantissa * power).toPrecision(12));
}

/**
 * Ticks from 0 up to the first round step at or above `max` (at least one step): the values an
 * axis is labelled at. `max` ≤ 0 or not finite gives [0, 1].
 */
export function niceTicks(max: number, count = 4): number[] {
  const step = niceStep(max, count);
  const top = max > 0 && Number.isFinite(max) ? Math.ceil(max / step - 1e-9) : 1;
  // Each tick as a multiple of the step, rounded to the step's precision: 0.1 × 3 is 0.3, not
  // 0.30000000000000004.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Array.from({ length: Math.max(1, top) + 1 }, (_, i) =>
    Number((i * step).toFixed(decimals)),
  );
}

/** Decimals that tell ticks `step` apart in a unit of `size` (0.25 mWh needs two); null past 6. */
function decimalsFor(step: number, size: number): number | null {
  const inUnit = step / size;
  for (let d = 0; d <= 6; d++) {
    const scaled = inUnit * 10 ** d;
    if (scaled >= 1 - 1e-9 && Math.abs(Math.round(scaled) - scaled) < 1e-6 * scaled) return d;
  }
  return null;
}

/**
 * A labeller for ticks that share one unit, chosen by the largest tick: 0, 250, 500, 750 mWh,
 * not 0, 250 mWh, 0.5 Wh. Every label but zero has the decimals the step between ticks needs.
 */
function axisLabeller(l: Ladder, ticks: readonly number[]): (value: number) => string {
  const finite = ticks.filter(Number.isFinite);
  const largest = Math.max(0, ...finite.map(Math.abs));
  const rung = largest === 0 ? l.zero : rungFor(l, largest);
  const sorted = [...finite].sort((a, b) => a - b);
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i]! - sorted[i - 1]!;
    if (gap > 0) step = Math.min(step, gap);
  }
  const decimals = Number.isFinite(step) ? decimalsFor(step, rung.size) : 0;
  // Ticks closer than a millionth of the unit (only on absurdly small axes) keep their own
  // significant digits instead: fixed decimals would print them all alike.
  const number =
    decimals === null
      ? (x: number) => formatSignificant(x)
      : (x: number) =>
          noNegativeZero(
            numberFormat({
              minimumFractionDigits: decimals,
              maximumFractionDigits: decimals,
            }).format(x),
          );
  return (value) => {
    if (!Number.isFinite(value)) return NOT_A_FIGURE;
    // The axis's origin reads "0 mWh", not "0.00 mWh": no decimals tell it apart from anything.
    const text = value === 0 ? "0" : number(value / rung.size);
    return `${text}${l.gap}${rung.symbol}${l.suffix}`;
  };
}

/** Labels for energy ticks given in kWh, in one unit. */
export function energyAxis(ticksKWh: readonly number[]): (energyKWh: number) => string {
  return axisLabeller(ENERGY, ticksKWh);
}

/** Labels for power ticks given in kW, in one unit. */
export function powerAxis(ticksKW: readonly number[]): (powerKW: number) => string {
  return axisLabeller(POWER, ticksKW);
}

/** Labels for carbon ticks given in grams, in one unit. */
export function carbonAxis(ticksG: readonly number[]): (carbonG: number) => string {
  return axisLabeller(CARBON, ticksG);
}

/** Labels for money ticks: all in cents when every tick is below a dollar, else all in dollars. */
export function usdAxis(ticksUsd: readonly number[]): (usd: number) => string {
  const largest = Math.max(0, ...ticksUsd.filter(Number.isFinite).map(Math.abs));
  const cents = largest < 1;
  const l: Ladder = {
    rungs: [cents ? { symbol: "¢", size: 0.01 } : { symbol: "", size: 1 }],
    zero: cents ? { symbol: "¢", size: 0.01 } : { symbol: "", size: 1 },
    gap: "",
    suffix: "",
  };
  const label = axisLabeller(l, ticksUsd);
  return (usd) => {
    const text = label(usd);
    if (cents || text === NOT_A_FIGURE) return text;
    return text.startsWith("-") ? `-$${text.slice(1)}` : `$${text}`;
  };
}

/** Labels for share ticks (1 is 100%), in percent. */
export function shareAxis(ticks: readonly number[]): (share: number) => string {
  const l: Ladder = {
    rungs: [{ symbol: "%", size: 0.01 }],
    zero: { symbol: "%", size: 0.01 },
    gap: "",
    suffix: "",
  };
  return axisLabeller(l, ticks);
}
