"use client";
// The Fleet page's 24-hour chart, drawn by uPlot on a canvas: a redraw of a few hundred points is
// a few milliseconds of canvas work, where the SVG chart library the other pages use took 30–55
// ms of CPU each time, a long task on its own. Its live legend gives the figures under the pointer.
// The left axis is the fleet's power on its own scale; the right one reads the same scale as a
// share of one datacenter (see lib/reference.ts for why, and when the datacenter's line shows).
import { formatPowerKW, formatShare, powerAxis, shareAxis } from "@nightshift/units/format";
import { memo, useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { clock } from "~/lib/format";
import {
  datacenterShare,
  powerRangeKW,
  REFERENCE_DATACENTER,
  REFERENCE_KW,
  referenceOnScale,
  shareSplitsKW,
} from "~/lib/reference";
import { type ChartRow, stackedColumns } from "./chart-data";

/** Height of the plot and its axes; the legend goes below. */
const HEIGHT = 244;
/** Region colours; --chart-1 is the whole fleet and --chart-2 the datacenter's line. */
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
  return `${base}: ${formatPowerKW(last.availableKW)} now, ${formatShare(datacenterShare(last.availableKW))} of one ${REFERENCE_DATACENTER.powerMW} MW datacenter.`;
}

/**
 * An axis as wide as its widest label (uPlot asks again with the labels it made): a fixed width
 * cut "150,000.0 kW" off at the canvas edge. After a first correction it keeps its size, so that
 * uPlot's layout settles.
 */
function axisSize(u: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = u.axes[axisIdx]!;
  const held = (axis as { _size?: number })._size;
  if (cycleNum > 1 && held !== undefined) return held;
  // uPlot keeps an axis's font as [CSS font at the device's pixel ratio, size, CSS size].
  const font = (axis.font as unknown as [string, number, number])[0];
  u.ctx.font = font;
  const widest = Math.max(0, ...(values ?? []).map((v) => u.ctx.measureText(v).width));
  return Math.ceil(widest / devicePixelRatio + (axis.ticks?.size ?? 10) + (axis.gap ?? 5) + 4);
}

/** The datacenter's power as a dashed line across the plot, when the scale reaches it. */
function drawReference(u: uPlot, colour: string): void {
  const top = u.scales.y?.max ?? 0;
  if (!referenceOnScale(top)) return;
  const { ctx } = u;
  const y = Math.round(u.valToPos(REFERENCE_KW, "y", true));
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = devicePixelRatio;
  ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
  ctx.beginPath();
  ctx.moveTo(u.bbox.left, y);
  ctx.lineTo(u.bbox.left + u.bbox.width, y);
  ctx.stroke();
  ctx.font = (u.axes[1]!.font as unknown as [string, number, number])[0];
  ctx.textBaseline = "bottom";
  ctx.fillText(
    `one ${REFERENCE_DATACENTER.powerMW} MW datacenter`,
    u.bbox.left + 4 * devicePixelRatio,
    y - 2 * devicePixelRatio,
  );
  ctx.restore();
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
      return kw === undefined ? "–" : formatPowerKW(kw);
    };
  const kwValue = (_u: uPlot, v: number | null) => (v === null ? "–" : formatPowerKW(v));
  const axis = { stroke: palette.text, grid: { stroke: palette.grid, dash: [3, 3], width: 1 } };
  const ticks = { stroke: palette.grid, width: 1 };
  return {
    width,
    height: HEIGHT,
    // Only the pointer's time is marked: a horizontal line would read as a level. Dragging would
    // zoom, and the next live update would undo it.
    cursor: { y: false, drag: { x: false, y: false }, points: { show: false } },
    scales: { y: { range: (_u, _min, max) => powerRangeKW(max) } },
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
        size: axisSize,
        // Every label in the unit of the top one: 0, 500 W, 1 kW would read as three scales.
        values: (_u, splits) => splits.map(powerAxis(splits)),
      },
      {
        ...axis,
        ticks,
        side: 1,
        scale: "y",
        grid: { show: false },
        size: axisSize,
        label: `share of one ${REFERENCE_DATACENTER.powerMW} MW datacenter`,
        labelSize: 20,
        labelFont: "12px system-ui, sans-serif",
        splits: (_u, _i, _min, max) => shareSplitsKW(max),
        values: (_u, splits) => {
          const shares = splits.map(datacenterShare);
          return shares.map(shareAxis(shares));
        },
      },
    ],
    hooks: { draw: [(u) => drawReference(u, palette.reference)] },
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
    ],
    // Each region's area runs from the top of the one below it to its own; the first fills to 0.
    bands: regionIds.slice(1).map((_, k) => ({ series: [k + 2, k + 1] as [number, number] })),
  };
}

/**
 * The 24-hour chart: regions stacked, the whole fleet as a line, its share of a datacenter on the
 * right, the figures of the moment under the pointer in the legend. The plot is made once (again
 * only if the regions or the theme change), then given new data and new widths.
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
