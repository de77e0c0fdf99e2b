// Figures for people: the unit chosen by size, rounding at the boundaries between units, zero,
// negatives, NaN and infinities, tiny and huge values, and chart axes in one unit. The property
// tests read each printed figure back and check it is the value, to three significant digits.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  carbonAxis,
  energyAxis,
  formatCarbonG,
  formatEnergyKWh,
  formatPowerKW,
  formatShare,
  formatSignificant,
  formatUsd,
  niceStep,
  niceTicks,
  NOT_A_FIGURE,
  powerAxis,
  shareAxis,
  usdAxis,
} from "../src/format";

// fast-check prints the seed and path of any failure; replay with fc.assert(prop, { seed, path }).

/** Each unit's size in the formatter's input unit. */
const ENERGY_KWH: Record<string, number> = {
  mWh: 1e-6,
  Wh: 1e-3,
  kWh: 1,
  MWh: 1e3,
  GWh: 1e6,
  TWh: 1e9,
};
const POWER_KW: Record<string, number> = { W: 1e-3, kW: 1, MW: 1e3, GW: 1e6, TW: 1e9 };
const CARBON_G: Record<string, number> = { mg: 1e-3, g: 1, kg: 1e3, t: 1e6, kt: 1e9, Mt: 1e12 };

const FROM_SUPERSCRIPT: Record<string, string> = Object.fromEntries(
  [..."⁻⁰¹²³⁴⁵⁶⁷⁸⁹"].map((c, i) => [c, "-0123456789"[i]!]),
);

/** "1,234.5" → 1234.5; "1.23×10⁻⁷" → 1.23e-7. */
function number(text: string): number {
  const [mantissa, power] = text.replace(/,/g, "").split("×10");
  const exponent = power ? [...power].map((c) => FROM_SUPERSCRIPT[c] ?? c).join("") : "0";
  return Number(`${mantissa}e${exponent}`);
}

/** "1,234.5 kWh" → { number: 1234.5, unit: "kWh" }. */
function parse(text: string): { number: number; unit: string } {
  const m = /^(-?[\d,]*\.?\d+(?:×10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?) (\S+)/.exec(text);
  if (!m) throw new Error(`not a figure with a unit: ${text}`);
  return { number: number(m[1]!), unit: m[2]! };
}

/** Money back to dollars: "$1,234.50", "-12.3¢", "0.0066¢", "9.88×10⁻⁶¢". */
function dollars(text: string): number {
  const cents = /^(-?)([\d,.×⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)¢$/.exec(text);
  if (cents) return number(`${cents[1]}${cents[2]!}`) / 100;
  const whole = /^(-?)\$([\d,.]+)$/.exec(text);
  if (whole) return Number(`${whole[1]}${whole[2]!.replace(/,/g, "")}`);
  throw new Error(`not money: ${text}`);
}

/** Within what three significant digits allow (half a unit in the third digit), or rounding. */
function close(shown: number, value: number, relative = 0.005): boolean {
  return Math.abs(shown - value) <= Math.abs(value) * relative + 1e-300;
}

/** Finite values from 1e-12 to 1e15 in magnitude, either sign: tiny to huge. */
const arbMagnitude = fc
  .tuple(
    fc.double({ min: 1, max: 10, noNaN: true }),
    fc.integer({ min: -12, max: 15 }),
    fc.boolean(),
  )
  .map(([mantissa, exponent, negative]) => (negative ? -1 : 1) * mantissa * 10 ** exponent);

describe("formatSignificant", () => {
  it("keeps three significant digits, groups thousands and drops trailing zeros", () => {
    expect(formatSignificant(0.0123456)).toBe("0.0123");
    expect(formatSignificant(1.5)).toBe("1.5");
    expect(formatSignificant(267)).toBe("267");
    expect(formatSignificant(1_234_567.8)).toBe("1,234,568");
    expect(formatSignificant(-2.5)).toBe("-2.5");
    expect(formatSignificant(0)).toBe("0");
    expect(formatSignificant(-1e-300 * 0)).toBe("0");
  });

  it("writes a power of ten below 0.0001 rather than a row of zeros", () => {
    expect(formatSignificant(0.000123)).toBe("0.000123");
    expect(formatSignificant(0.0000999)).toBe("9.99×10⁻⁵");
    expect(formatSignificant(1.23e-7)).toBe("1.23×10⁻⁷");
    expect(formatSignificant(-4e-12)).toBe("-4×10⁻¹²");
    // Rounding can carry into the next power: 9.996e-6 is 1×10⁻⁵, not 10×10⁻⁶.
    expect(formatSignificant(9.996e-6)).toBe("1×10⁻⁵");
  });

  it("prints NaN and infinities as no figure", () => {
    for (const x of [NaN, Infinity, -Infinity]) expect(formatSignificant(x)).toBe(NOT_A_FIGURE);
  });
});

describe("energy", () => {
  it("picks mWh, Wh, kWh, MWh … by size", () => {
    // The figures a new user saw: a few tasks of the demo.
    expect(formatEnergyKWh(0.000267)).toBe("267 mWh");
    expect(formatEnergyKWh(0.0000267)).toBe("26.7 mWh");
    expect(formatEnergyKWh(0.0312)).toBe("31.2 Wh");
    expect(formatEnergyKWh(0.5)).toBe("500 Wh");
    expect(formatEnergyKWh(281.2)).toBe("281 kWh");
    expect(formatEnergyKWh(12_340)).toBe("12.3 MWh");
    expect(formatEnergyKWh(10.4e6)).toBe("10.4 GWh");
    expect(formatEnergyKWh(3.2e9)).toBe("3.2 TWh");
  });

  it("moves up a unit where rounding reaches 1,000 of the one below", () => {
    expect(formatEnergyKWh(0.001)).toBe("1 Wh");
    expect(formatEnergyKWh(0.00099999)).toBe("1 Wh");
    expect(formatEnergyKWh(0.000999)).toBe("999 mWh");
    // 0.0009995 ÷ 1e-6 is 999.5000000000001 (prints as 1,000 mWh) but the double is just below
    // 0.0009995 (÷ 1e-3 prints 0.999): never "1,000" of a unit that has one above it.
    expect(formatEnergyKWh(0.0009995)).toBe("0.999 Wh");
    expect(formatEnergyKWh(0.99996)).toBe("1 kWh");
    expect(formatEnergyKWh(999.6)).toBe("1 MWh");
    expect(formatEnergyKWh(999.4)).toBe("999 kWh");
  });

  it("shows zero as 0 Wh and a non-zero value never as zero", () => {
    expect(formatEnergyKWh(0)).toBe("0 Wh");
    expect(formatEnergyKWh(-0)).toBe("0 Wh");
    expect(formatEnergyKWh(1e-9)).toBe("0.001 mWh");
    expect(formatEnergyKWh(4e-13)).toBe("4×10⁻⁷ mWh");
  });

  it("keeps the sign of negative values (a correction in the ledger)", () => {
    expect(formatEnergyKWh(-0.5)).toBe("-500 Wh");
    expect(formatEnergyKWh(-12_340)).toBe("-12.3 MWh");
  });

  it("groups thousands past the largest unit, and prints NaN and infinities as no figure", () => {
    expect(formatEnergyKWh(1.5e15)).toBe("1,500,000 TWh");
    for (const x of [NaN, Infinity, -Infinity]) expect(formatEnergyKWh(x)).toBe(NOT_A_FIGURE);
  });

  it("reads back as the value to three significant digits, in a unit where it is 1 to 999", () => {
    fc.assert(
      fc.property(arbMagnitude, (kWh) => {
        const text = formatEnergyKWh(kWh);
        const { number, unit } = parse(text);
        expect(ENERGY_KWH[unit], text).toBeDefined();
        expect(close(number * ENERGY_KWH[unit]!, kWh), `${kWh} → ${text}`).toBe(true);
        expect(number, `${kWh} → ${text}`).not.toBe(0);
        const a = Math.abs(number);
        if (unit !== "mWh" && unit !== "TWh") {
          expect(a >= 1 && a < 1000, `${kWh} → ${text}`).toBe(true);
        }
      }),
    );
  });
});

describe("power and carbon", () => {
  it("power picks W, kW, MW, GW", () => {
    expect(formatPowerKW(0)).toBe("0 W");
    expect(formatPowerKW(0.072)).toBe("72 W");
    expect(formatPowerKW(950)).toBe("950 kW");
    expect(formatPowerKW(999.96)).toBe("1 MW");
    expect(formatPowerKW(1234)).toBe("1.23 MW");
    expect(formatPowerKW(150_000)).toBe("150 MW");
    expect(formatPowerKW(5.6e6)).toBe("5.6 GW");
    expect(formatPowerKW(NaN)).toBe(NOT_A_FIGURE);
  });

  it("carbon picks mg, g, kg, t of CO₂", () => {
    expect(formatCarbonG(0)).toBe("0 g CO₂");
    expect(formatCarbonG(0.056)).toBe("56 mg CO₂");
    expect(formatCarbonG(12.5)).toBe("12.5 g CO₂");
    expect(formatCarbonG(93_940)).toBe("93.9 kg CO₂");
    expect(formatCarbonG(1.25e7)).toBe("12.5 t CO₂");
    expect(formatCarbonG(3.5e14)).toBe("350 Mt CO₂");
    expect(formatCarbonG(-Infinity)).toBe(NOT_A_FIGURE);
  });

  it("both read back as the value to three significant digits", () => {
    fc.assert(
      fc.property(arbMagnitude, (x) => {
        for (const [text, units] of [
          [formatPowerKW(x), POWER_KW],
          [formatCarbonG(x), CARBON_G],
        ] as const) {
          const { number, unit } = parse(text);
          expect(units[unit], text).toBeDefined();
          expect(close(number * units[unit]!, x), `${x} → ${text}`).toBe(true);
        }
      }),
    );
  });
});

describe("money", () => {
  it("shows cents below a dollar, fractions of a cent readably", () => {
    // The figure a new user saw, per task: $0.000066.
    expect(formatUsd(0.000066)).toBe("0.0066¢");
    expect(formatUsd(0.0000667)).toBe("0.00667¢");
    expect(formatUsd(0.005)).toBe("0.5¢");
    expect(formatUsd(0.0123)).toBe("1.23¢");
    expect(formatUsd(0.5)).toBe("50¢");
    expect(formatUsd(0.999)).toBe("99.9¢");
  });

  it("shows dollars and cents from a dollar, whole dollars from $1,000", () => {
    expect(formatUsd(0.9996)).toBe("$1.00");
    expect(formatUsd(1)).toBe("$1.00");
    expect(formatUsd(12.3)).toBe("$12.30");
    expect(formatUsd(999.994)).toBe("$999.99");
    expect(formatUsd(999.996)).toBe("$1,000");
    expect(formatUsd(12_345.67)).toBe("$12,346");
    expect(formatUsd(20e9)).toBe("$20,000,000,000");
  });

  it("zero, negatives, NaN and infinities", () => {
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(-0)).toBe("$0.00");
    expect(formatUsd(-5)).toBe("-$5.00");
    expect(formatUsd(-0.5)).toBe("-50¢");
    for (const x of [NaN, Infinity, -Infinity]) expect(formatUsd(x)).toBe(NOT_A_FIGURE);
  });

  it("reads back as the value (to the cent from a dollar, three digits below)", () => {
    fc.assert(
      fc.property(arbMagnitude, (usd) => {
        const text = formatUsd(usd);
        const back = dollars(text);
        expect(back, `${usd} → ${text}`).not.toBe(0);
        if (Math.abs(usd) < 0.99) expect(close(back, usd), `${usd} → ${text}`).toBe(true);
        else expect(Math.abs(back - usd), `${usd} → ${text}`).toBeLessThanOrEqual(0.5);
      }),
    );
  });
});

describe("shares", () => {
  it("percent to three significant digits, however small or large", () => {
    expect(formatShare(0)).toBe("0%");
    expect(formatShare(0.0000107)).toBe("0.00107%");
    expect(formatShare(0.0213)).toBe("2.13%");
    expect(formatShare(1)).toBe("100%");
    expect(formatShare(16.67)).toBe("1,667%");
    expect(formatShare(NaN)).toBe(NOT_A_FIGURE);
  });
});

describe("axes", () => {
  it("niceStep and niceTicks give round steps from 0 past the maximum", () => {
    expect(niceStep(40.02, 4)).toBe(20);
    expect(niceStep(0.000267, 4)).toBe(0.0001);
    expect(niceTicks(0.000267)).toEqual([0, 0.0001, 0.0002, 0.0003]);
    expect(niceTicks(0.9)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(NaN)).toEqual([0, 1]);
    fc.assert(
      fc.property(fc.double({ min: 1e-12, max: 1e15, noNaN: true }), (max) => {
        const ticks = niceTicks(max);
        expect(ticks[0]).toBe(0);
        expect(ticks.at(-1)!).toBeGreaterThanOrEqual(max * (1 - 1e-9));
        expect(ticks.length).toBeGreaterThanOrEqual(2);
        expect(ticks.length).toBeLessThanOrEqual(6);
      }),
    );
  });

  it("labels every tick in the unit of the largest, with the decimals the step needs", () => {
    const small = niceTicks(0.000267);
    expect(small.map(energyAxis(small))).toEqual(["0 mWh", "100 mWh", "200 mWh", "300 mWh"]);
    const kwh = niceTicks(0.9);
    expect(kwh.map(energyAxis(kwh))).toEqual([
      "0 kWh",
      "0.25 kWh",
      "0.50 kWh",
      "0.75 kWh",
      "1.00 kWh",
    ]);
    const kw = [0, 50_000, 100_000, 150_000];
    expect(kw.map(powerAxis(kw))).toEqual(["0 MW", "50 MW", "100 MW", "150 MW"]);
    const grams = niceTicks(1_200);
    expect(grams.map(carbonAxis(grams))).toEqual([
      "0 kg CO₂",
      "0.5 kg CO₂",
      "1.0 kg CO₂",
      "1.5 kg CO₂",
    ]);
  });

  it("money axes are all in cents below a dollar, else all in dollars", () => {
    const cents = niceTicks(0.000066);
    expect(cents.map(usdAxis(cents))).toEqual(["0¢", "0.002¢", "0.004¢", "0.006¢", "0.008¢"]);
    const usd = niceTicks(47);
    expect(usd.map(usdAxis(usd))).toEqual(["$0", "$20", "$40", "$60"]);
    const quarter = niceTicks(0.9);
    // The top tick is a dollar: the whole axis is in dollars.
    expect(quarter.map(usdAxis(quarter))).toEqual(["$0", "$0.25", "$0.50", "$0.75", "$1.00"]);
    const below = [0, 0.2, 0.4, 0.6];
    expect(below.map(usdAxis(below))).toEqual(["0¢", "20¢", "40¢", "60¢"]);
  });

  it("share axes in percent", () => {
    const ticks = niceTicks(0.0000107);
    expect(ticks.map(shareAxis(ticks))).toEqual(["0%", "0.0005%", "0.0010%", "0.0015%"]);
  });

  it("tells apart ticks however small, and prints NaN as no figure", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-15, max: 1e15, noNaN: true }), (max) => {
        const ticks = niceTicks(max);
        for (const axis of [energyAxis, powerAxis, carbonAxis, usdAxis, shareAxis]) {
          const labels = ticks.map(axis(ticks));
          expect(new Set(labels).size, labels.join(" | ")).toBe(ticks.length);
        }
      }),
    );
    expect(energyAxis([0, 1])(NaN)).toBe(NOT_A_FIGURE);
    expect(usdAxis([0, 1])(Infinity)).toBe(NOT_A_FIGURE);
  });
});
