// The yardstick the fleet is compared with: one AI datacenter, core's reference (xAI Colossus in
// Memphis, phase 1: ~150 MW, the figure the planner and the CLI compare with too). The Fleet chart
// keeps the fleet's own scale, so that 50 cars and 100,000 cars both fill it, and reads that scale
// a second time on its right-hand axis as a share of the datacenter. The datacenter's own line is
// drawn only once the fleet reaches half of it: below that, a line at full scale would flatten the
// fleet to nothing (at 50 cars it is a few kW against 150,000), and a line "scaled to the fleet"
// compared the fleet with an invented one.
import { COLOSSUS_PHASE1 } from "@nightshift/core/hardware";
import { formatPowerKW, formatShare, formatSignificant, niceTicks } from "@nightshift/units/format";

export const REFERENCE_DATACENTER = COLOSSUS_PHASE1;
export const REFERENCE_KW = COLOSSUS_PHASE1.powerMW * 1000;

/** Available power as a share of one datacenter's (1 is a whole datacenter). */
export function datacenterShare(availableKW: number): number {
  return availableKW / REFERENCE_KW;
}

/** How many fleets with this much power would match one datacenter; null when there is none. */
export function fleetsPerDatacenter(availableKW: number): number | null {
  return availableKW > 0 ? REFERENCE_KW / availableKW : null;
}

/** From this share of a datacenter on, the chart's scale reaches the datacenter's line. */
export const REFERENCE_LINE_FROM_SHARE = 0.5;

/** Headroom above the highest figure drawn, so a line at the top does not run along the edge. */
const HEADROOM = 1.05;

/**
 * The power axis's range for a chart whose highest figure is `maxKW`: the fleet's own scale, or
 * up to the datacenter when the fleet has reached half of it. Nothing at all still gets an axis.
 */
export function powerRangeKW(maxKW: number): [number, number] {
  if (!(maxKW > 0)) return [0, 1];
  const top =
    maxKW >= REFERENCE_KW * REFERENCE_LINE_FROM_SHARE ? Math.max(maxKW, REFERENCE_KW) : maxKW;
  return [0, top * HEADROOM];
}

/** Whether an axis up to `topKW` shows the datacenter's line. */
export function referenceOnScale(topKW: number): boolean {
  return topKW >= REFERENCE_KW;
}

/**
 * Where the right-hand axis puts its ticks, in kW: round shares of the datacenter (0.001%,
 * 0.002% …) up to the axis's top, so it reads in round percentages of its own.
 */
export function shareSplitsKW(topKW: number): number[] {
  return niceTicks(datacenterShare(topKW))
    .map((share) => share * REFERENCE_KW)
    .filter((kw) => kw <= topKW * (1 + 1e-9));
}

/** What the Fleet chart compares the fleet with, and where the fleet stands now, in words. */
export function referenceNote(availableKW: number): string {
  const dc = REFERENCE_DATACENTER;
  const share = datacenterShare(availableKW);
  const fleets = fleetsPerDatacenter(availableKW);
  const compared =
    fleets === null
      ? "No power is available now."
      : `Now ${formatPowerKW(availableKW)} is ${formatShare(share)} of it` +
        (fleets >= 2
          ? // "About": two significant digits are all a count of fleets this rough deserves.
            `: about ${formatSignificant(Number(fleets.toPrecision(2)))} fleets like this one would match it.`
          : share >= 1
            ? `: ${formatSignificant(share, 2)} times one datacenter.`
            : ".");
  return (
    "Regions are stacked; their top is the whole fleet. The right-hand axis reads the same power " +
    `as a share of one ${dc.powerMW} MW AI datacenter (${dc.name}); its dashed line is drawn once ` +
    `the fleet reaches ${formatShare(REFERENCE_LINE_FROM_SHARE)} of it. ${compared}`
  );
}
