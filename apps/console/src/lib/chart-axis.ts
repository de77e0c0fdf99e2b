// A value axis for the console's charts: round ticks from 0 past the largest figure, every label in
// one unit (core's units module picks it), and a width measured from the labels themselves, so
// that "0.0066¢" or "1,500 MWh" is never cut off at the chart's edge as a fixed width would.
import { niceTicks } from "@nightshift/units/format";

/** What a chart library needs beside a label: its tick line (6 px), the gap (2 px), and room. */
const TICK_ROOM_PX = 6 + 2 + 6;

let context: CanvasRenderingContext2D | null = null;

/**
 * How wide `text` is drawn in the page's font (the charts' tick labels inherit it), in CSS px.
 * Without a document (the server's render) an estimate: the widest digit is about 0.6 em.
 */
export function textWidthPx(text: string): number {
  if (typeof document === "undefined") return text.length * 14 * 0.6;
  context ??= document.createElement("canvas").getContext("2d");
  const style = getComputedStyle(document.documentElement);
  if (!context) return text.length * Number.parseFloat(style.fontSize) * 0.6;
  context.font = `${style.fontSize} ${style.fontFamily}`;
  return context.measureText(text).width;
}

export interface ValueAxis {
  ticks: number[];
  domain: [number, number];
  label: (value: number) => string;
  /** Room for the widest label and its tick, in CSS px. */
  widthPx: number;
}

/**
 * The axis for figures up to `max`, labelled by `labeller` (core's energyAxis, usdAxis …), which
 * sees every tick and so labels them all in one unit.
 */
export function valueAxis(
  max: number,
  labeller: (ticks: readonly number[]) => (value: number) => string,
): ValueAxis {
  const ticks = niceTicks(max);
  const label = labeller(ticks);
  const widest = Math.max(...ticks.map((t) => textWidthPx(label(t))));
  return {
    ticks,
    domain: [0, ticks[ticks.length - 1]!],
    label,
    widthPx: Math.ceil(widest) + TICK_ROOM_PX,
  };
}

/** The largest value of `keys` over `rows`, or of their sum when `stacked` (bars on each other). */
export function maxOf(
  rows: readonly Record<string, unknown>[],
  keys: readonly string[],
  stacked = false,
): number {
  let max = 0;
  for (const row of rows) {
    const values = keys.map((k) => (typeof row[k] === "number" ? (row[k] as number) : 0));
    const top = stacked ? values.reduce((a, b) => a + b, 0) : Math.max(0, ...values);
    if (top > max) max = top;
  }
  return max;
}
