"use client";
// The Fleet page's 24-hour chart, drawn as plain SVG: a handful of paths computed from at most
// a few hundred rows. The chart library the other pages use took 30–55 ms of CPU for every
// redraw of this chart whatever the number of points (its store, selectors and re-renders), a
// long task on its own; this takes a few milliseconds.
import {
  memo,
  type PointerEvent,
  type RefObject,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import { clock, num, power } from "~/lib/format";
import { REFERENCE_DATACENTER_MW } from "~/lib/reference";
import type { ChartRow } from "./chart-data";

/** Region colours; --chart-1 is the whole fleet and --chart-2 the reference line. */
const REGION_COLOURS = ["var(--chart-3)", "var(--chart-4)", "var(--chart-5)", "var(--chart-1)"];
const HEIGHT = 244;
const MARGIN = { left: 80, right: 16, top: 8, bottom: 24 };
const Y_TICKS = 5;

/** Tick steps for the time axis, from seconds to hours; the chart takes the first giving ≤ 6. */
const TICK_STEPS_MS = [
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3600_000, 7200_000, 10_800_000, 21_600_000, 43_200_000,
];
const MAX_TICKS = 6;

/** Up to MAX_TICKS round times (whole minutes, hours… in the viewer's time zone) across [from, to]. */
export function timeTicks(from: number, to: number): number[] {
  if (!(to > from)) return [from];
  const span = to - from;
  const step = TICK_STEPS_MS.find((s) => span / s <= MAX_TICKS) ?? 24 * 3600_000;
  // Round in local time: the zone's offset (minutes) moves where whole hours fall.
  const offsetMs = new Date(from).getTimezoneOffset() * 60_000;
  const ticks: number[] = [];
  for (let t = Math.ceil((from - offsetMs) / step) * step + offsetMs; t <= to; t += step)
    ticks.push(t);
  return ticks;
}

/** A round top for the y axis and its ticks: steps of 1, 2 or 5 × 10ⁿ, at most Y_TICKS of them. */
export function valueTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / Y_TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) ticks.push(v);
  return ticks;
}

/** The width of an element, kept up to date as it resizes. */
function useWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.round(entry.contentRect.width));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

interface Drawn {
  x: (t: number) => number;
  areas: { id: string; fill: string; top: string }[];
  fleet: string;
  reference: string;
  yTicks: { v: number; y: number }[];
  xTicks: { t: number; x: number }[];
}

function draw(rows: readonly ChartRow[], regionIds: readonly string[], width: number): Drawn {
  const t0 = rows[0]!.t;
  const t1 = rows[rows.length - 1]!.t;
  const plotW = Math.max(1, width - MARGIN.left - MARGIN.right);
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (t: number) => MARGIN.left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * plotW : 0);
  // Regions stacked in order; a region missing from a row adds nothing there.
  const stacks = rows.map((row) => {
    let sum = 0;
    return regionIds.map((id) => (sum += row[`r:${id}`] ?? 0));
  });
  let max = 0;
  rows.forEach((row, i) => {
    max = Math.max(max, row.availableKW, row.referenceKW, stacks[i]!.at(-1) ?? 0);
  });
  const ticks = valueTicks(max);
  const top = ticks[ticks.length - 1]!;
  const y = (v: number) => MARGIN.top + plotH - (v / top) * plotH;
  const line = (value: (i: number) => number) =>
    rows
      .map((row, i) => `${i ? "L" : "M"}${x(row.t).toFixed(1)},${y(value(i)).toFixed(1)}`)
      .join("");
  const areas = regionIds.map((id, k) => {
    const upper = line((i) => stacks[i]![k]!);
    let lower = "";
    for (let i = rows.length - 1; i >= 0; i--) {
      const v = k ? stacks[i]![k - 1]! : 0;
      lower += `L${x(rows[i]!.t).toFixed(1)},${y(v).toFixed(1)}`;
    }
    return { id, fill: `${upper}${lower}Z`, top: upper };
  });
  return {
    x,
    areas,
    fleet: line((i) => rows[i]!.availableKW),
    reference: line((i) => rows[i]!.referenceKW),
    yTicks: ticks.map((v) => ({ v, y: y(v) })),
    xTicks: timeTicks(t0, t1).map((t) => ({ t, x: x(t) })),
  };
}

/** The index of the row nearest to time `t` (rows oldest first). */
function nearest(rows: readonly ChartRow[], t: number): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t - rows[lo - 1]!.t < rows[lo]!.t - t ? lo - 1 : lo;
}

/**
 * The 24-hour chart: regions stacked, the whole fleet and the scaled datacenter as lines, the
 * figures of the nearest moment under the pointer. Drawn again only when its rows, regions or
 * width change, not on each render of the page around it.
 */
export const FleetChart = memo(function FleetChart({
  rows,
  sampled,
  regionIds,
  regionNames,
}: {
  rows: ChartRow[];
  sampled: number;
  regionIds: string[];
  regionNames: ReadonlyMap<string, string>;
}) {
  const box = useRef<HTMLDivElement>(null);
  const width = useWidth(box);
  const drawn = useMemo(
    () => (width > 0 && rows.length > 1 ? draw(rows, regionIds, width) : null),
    [rows, regionIds, width],
  );
  const [hover, setHover] = useState<number | null>(null);
  // Seconds on the axis only while the chart spans less than an hour.
  const seconds = rows.length > 1 && rows[rows.length - 1]!.t - rows[0]!.t < 3600_000;
  const name = (id: string) => regionNames.get(id) ?? id;
  const colour = (k: number) => REGION_COLOURS[k % REGION_COLOURS.length]!;

  const onMove = (e: PointerEvent<SVGSVGElement>) => {
    if (!drawn) return;
    const left = e.currentTarget.getBoundingClientRect().left;
    const px = e.clientX - left;
    const t0 = rows[0]!.t;
    const t1 = rows[rows.length - 1]!.t;
    const plotW = Math.max(1, width - MARGIN.left - MARGIN.right);
    setHover(nearest(rows, t0 + ((px - MARGIN.left) / plotW) * (t1 - t0)));
  };
  const hovered = hover !== null && hover < rows.length ? rows[hover]! : null;

  return (
    <div
      className="chart fleet-chart"
      role="img"
      aria-label="Available kilowatts over the last 24 hours by region, with the scaled datacenter line"
      data-testid="fleet-chart"
      data-sampled={sampled}
    >
      <div ref={box} style={{ position: "relative" }}>
        {drawn ? (
          <svg
            width={width}
            height={HEIGHT}
            onPointerMove={onMove}
            onPointerLeave={() => setHover(null)}
          >
            <g stroke="var(--border)" strokeDasharray="3 3">
              {drawn.yTicks.map(({ v, y }) => (
                <line key={v} x1={MARGIN.left} x2={width - MARGIN.right} y1={y} y2={y} />
              ))}
              {drawn.xTicks.map(({ t, x }) => (
                <line key={t} x1={x} x2={x} y1={MARGIN.top} y2={HEIGHT - MARGIN.bottom} />
              ))}
            </g>
            <g fill="var(--muted)" fontSize={12}>
              {drawn.yTicks.map(({ v, y }) => (
                <text key={v} x={MARGIN.left - 6} y={y} textAnchor="end" dominantBaseline="middle">
                  {num(v, 1)} kW
                </text>
              ))}
              {drawn.xTicks.map(({ t, x }) => (
                <text key={t} x={x} y={HEIGHT - 6} textAnchor="middle">
                  {clock(t, seconds)}
                </text>
              ))}
            </g>
            {drawn.areas.map((a, k) => (
              <g key={a.id} className="fleet-chart-area" data-region={a.id}>
                <path d={a.fill} fill={colour(k)} fillOpacity={0.25} stroke="none" />
                <path d={a.top} fill="none" stroke={colour(k)} />
              </g>
            ))}
            <path d={drawn.fleet} fill="none" stroke="var(--chart-1)" strokeWidth={2} />
            <path d={drawn.reference} fill="none" stroke="var(--chart-2)" strokeDasharray="6 4" />
            {hovered ? (
              <line
                x1={drawn.x(hovered.t)}
                x2={drawn.x(hovered.t)}
                y1={MARGIN.top}
                y2={HEIGHT - MARGIN.bottom}
                stroke="var(--muted)"
              />
            ) : null}
          </svg>
        ) : (
          <div style={{ height: HEIGHT }} />
        )}
        {hovered && drawn ? (
          <div
            className="fleet-chart-tooltip small"
            style={{
              left: Math.min(drawn.x(hovered.t) + 12, Math.max(0, width - 240)),
            }}
          >
            <div className="muted">{clock(hovered.t, true)}</div>
            {regionIds.map((id, k) =>
              hovered[`r:${id}`] === undefined ? null : (
                <div key={id} style={{ color: colour(k) }}>
                  {name(id)}: {power(hovered[`r:${id}`]!)}
                </div>
              ),
            )}
            <div style={{ color: "var(--chart-1)" }}>Whole fleet: {power(hovered.availableKW)}</div>
            <div style={{ color: "var(--chart-2)" }}>
              {REFERENCE_DATACENTER_MW} MW datacenter, scaled: {power(hovered.referenceKW)}
            </div>
          </div>
        ) : null}
      </div>
      <ul className="fleet-chart-legend small" data-testid="fleet-chart-legend">
        {regionIds.map((id, k) => (
          <li key={id}>
            <span className="swatch" style={{ background: colour(k), opacity: 0.6 }} />
            {name(id)}
          </li>
        ))}
        <li>
          <span className="swatch" style={{ background: "var(--chart-1)" }} />
          Whole fleet
        </li>
        <li>
          <span className="swatch dashed" style={{ borderColor: "var(--chart-2)" }} />
          {REFERENCE_DATACENTER_MW} MW datacenter, scaled
        </li>
      </ul>
    </div>
  );
});
