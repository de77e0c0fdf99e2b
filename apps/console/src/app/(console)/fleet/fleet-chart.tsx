"use client";
// The Fleet page's 24-hour chart, drawn by uPlot on a canvas: a redraw of a few hundred points is
// a few milliseconds of canvas work, where the SVG chart library the other pages use took 30–55
// ms of CPU each time, a long task on its own. Its live legend gives the figures under the pointer.
import { memo, useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { clock, num, power } from "~/lib/format";
import { REFERENCE_DATACENTER_MW } from "~/lib/reference";
import { type ChartRow, stackedColumns } from "./chart-data";

/** Height of the plot and its axes; the legend goes below. */
const HEIGHT = 244;
/** Region colours; --chart-1 is the whole fleet and --chart-2 the reference line. */
const REGION_VARS = ["--chart-3", "--chart-4", "--chart-5", "--chart-1"];

interface Palette {
  regions: string[];
  fleet: string;
  reference: string;
  grid: string;
  text: string;
}

/** The console's colours now: a canvas cannot use CSS variables, so they are read as values. */
function readPalette(): Palette {
  const style = getComputedStyle(document.documentElement);
  const read = (name: string) => style.getPropertyValue(name).trim();
  return {
    regions: REGION_VARS.map(read),
    fleet: read("--chart-1"),
    reference: read("--chart-2"),
    grid: read("--border"),
    text: read("--muted"),
  };
}

/**
 * The palette, read again when the theme changes: the navigation's toggle sets `data-theme` on
 * the root element, and without it the system's light or dark applies.
 */
function usePalette(): Palette | null {
  const [palette, setPalette] = useState<Palette | null>(null);
  useEffect(() => {
    const update = () => setPalette(readPalette());
    update();
    const observer = new MutationObserver(update);
    observer.observe(document.documentElement, { attributeFilter: ["data-theme"] });
    const media = matchMedia("(prefers-color-scheme: dark)");
    media.addEventListener("change", update);
    return () => {
      observer.disconnect();
      media.removeEventListener("change", update);
    };
  }, []);
  return palette;
}

/** A colour with an alpha channel, for the areas under the regions' lines (`#rrggbb` only). */
function translucent(hex: string, alpha: number): string {
  if (!/^#[0-9a-f]{6}$/i.test(hex)) return hex;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r} ${g} ${b} / ${alpha})`;
}

/** What the canvas says to a screen reader: the newest figures the chart ends at. */
function summary(rows: readonly ChartRow[]): string {
  const last = rows[rows.length - 1];
  const base = "Available power over the last 24 hours, regions stacked, the whole fleet as a line";
  if (!last) return `${base}.`;
  return `${base}: ${power(last.availableKW)} now, against ${power(last.referenceKW)} for the ${REFERENCE_DATACENTER_MW} MW datacenter scaled to this fleet.`;
}

function options(
  width: number,
  regionIds: readonly string[],
  regionNames: ReadonlyMap<string, string>,
  palette: Palette,
  rowsRef: { current: readonly ChartRow[] },
): uPlot.Options {
  const colour = (k: number) => palette.regions[k % palette.regions.length]!;
  // The legend shows a region's own kW, not the top of its band.
  const regionValue =
    (id: string) => (_u: uPlot, _v: number | null, _s: number, i: number | null) => {
      const kw = i === null ? undefined : rowsRef.current[i]?.[`r:${id}`];
      return kw === undefined ? "–" : power(kw);
    };
  const kwValue = (_u: uPlot, v: number | null) => (v === null ? "–" : power(v));
  const axis = { stroke: palette.text, grid: { stroke: palette.grid, dash: [3, 3], width: 1 } };
  const ticks = { stroke: palette.grid, width: 1 };
  return {
    width,
    height: HEIGHT,
    // Only the pointer's time is marked: a horizontal line would read as a level. Dragging would
    // zoom, and the next live update would undo it.
    cursor: { y: false, drag: { x: false, y: false }, points: { show: false } },
    scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] } },
    axes: [
      {
        ...axis,
        ticks,
        // A clock label is about 60 px wide: room for it and a gap, about six ticks on a card.
        space: 120,
        // The console's clock, with seconds while the ticks are less than a minute apart.
        values: (_u, splits, _a, _space, incr) => splits.map((s) => clock(s * 1000, incr < 60)),
      },
      {
        ...axis,
        ticks,
        size: 84,
        values: (_u, splits) => splits.map((v) => `${num(v, 1)} kW`),
      },
    ],
    series: [
      { label: "Time", value: (_u, v) => (v === null ? "–" : clock(v * 1000, true)) },
      ...regionIds.map((id, k): uPlot.Series => ({
        label: regionNames.get(id) ?? id,
        stroke: colour(k),
        fill: translucent(colour(k), 0.25),
        width: 1,
        points: { show: false },
        value: regionValue(id),
      })),
      {
        label: "Whole fleet",
        stroke: palette.fleet,
        width: 2,
        points: { show: false },
        value: kwValue,
      },
      {
        label: `${REFERENCE_DATACENTER_MW} MW datacenter, scaled`,
        stroke: palette.reference,
        width: 1,
        dash: [6, 4],
        points: { show: false },
        value: kwValue,
      },
    ],
    // Each region's area runs from the top of the one below it to its own; the first fills to 0.
    bands: regionIds.slice(1).map((_, k) => ({ series: [k + 2, k + 1] as [number, number] })),
  };
}

/**
 * The 24-hour chart: regions stacked, the whole fleet and the scaled datacenter as lines, the
 * figures of the moment under the pointer in the legend. The plot is made once (again only if
 * the regions or the theme change), then given new data and new widths.
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
  const plot = useRef<uPlot | null>(null);
  const rowsRef = useRef<readonly ChartRow[]>(rows);
  const columns = useMemo(() => stackedColumns(rows, regionIds), [rows, regionIds]);
  const columnsRef = useRef(columns);
  const palette = usePalette();

  useEffect(() => {
    const el = box.current;
    if (!el || !palette) return;
    const u = new uPlot(
      options(el.clientWidth, regionIds, regionNames, palette, rowsRef),
      columnsRef.current as uPlot.AlignedData,
      el,
    );
    u.ctx.canvas.setAttribute("role", "img");
    u.ctx.canvas.setAttribute("aria-label", summary(rowsRef.current));
    plot.current = u;
    const observer = new ResizeObserver(([entry]) => {
      const width = Math.round(entry?.contentRect.width ?? 0);
      if (width > 0 && width !== u.width) u.setSize({ width, height: HEIGHT });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [regionIds, regionNames, palette]);

  useEffect(() => {
    rowsRef.current = rows;
    columnsRef.current = columns;
    const u = plot.current;
    if (!u) return;
    u.setData(columns as uPlot.AlignedData);
    u.ctx.canvas.setAttribute("aria-label", summary(rows));
  }, [rows, columns]);

  return (
    <div
      ref={box}
      className="fleet-chart"
      data-testid="fleet-chart"
      data-sampled={sampled}
      style={{ minHeight: HEIGHT }}
    />
  );
});
