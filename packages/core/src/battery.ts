// Pure battery arithmetic. Model: the charger delivers `chargerKW × chargeEfficiency` to the car
// (wall power less conversion losses); a compute draw is fed from that first, the surplus charges
// the battery, and a shortfall is taken from the battery (discharge losses are ignored).
import type { Battery } from "./types";

const S_PER_H = 3600;

/**
 * BOINC's mobile client pauses above 40 °C battery temperature: a car this hot takes no new work
 * (the server tells it to drain, and its own node stops taking work).
 */
export const MAX_BATTERY_TEMP_C = 40;

/** Whether a reported battery temperature is too hot for work; an unknown one is not. */
export function batteryTooHot(batteryTempC: number | null | undefined): boolean {
  return (batteryTempC ?? -Infinity) > MAX_BATTERY_TEMP_C;
}
const J_PER_KWH = 3.6e6;

/** Power and flow into/out of a parked car over a period. */
export interface PowerFlows {
  /** Wall power of the charger, kW; 0 when not plugged in. */
  chargerKW: number;
  /** Electrical draw of the compute, W. */
  drawW: number;
}

/** W × s → kWh. */
export function energyKWh(powerW: number, durationS: number): number {
  return (powerW * durationS) / J_PER_KWH;
}

/** Energy a charger puts into the car (after losses) over `durationS`. */
export function chargeAddedKWh(
  chargerKW: number,
  chargeEfficiency: number,
  durationS: number,
): number {
  return (chargerKW * chargeEfficiency * durationS) / S_PER_H;
}

function clampPct(pct: number): number {
  return Math.min(100, Math.max(0, pct));
}

/** Net power into the battery, kW (negative when discharging). */
export function netBatteryKW(battery: Battery, flows: PowerFlows): number {
  return flows.chargerKW * battery.chargeEfficiency - flows.drawW / 1000;
}

/** State of charge after `durationS` of the given flows, clamped to [0, 100]. */
export function socAfter(battery: Battery, flows: PowerFlows, durationS: number): number {
  if (battery.capacityKWh <= 0) return clampPct(battery.socPct);
  const deltaKWh = (netBatteryKW(battery, flows) * durationS) / S_PER_H;
  return clampPct(battery.socPct + (100 * deltaKWh) / battery.capacityKWh);
}

/** Stored energy above `floorPct`, kWh; never negative. */
export function energyAboveKWh(battery: Battery, floorPct: number): number {
  return Math.max(0, ((battery.socPct - floorPct) / 100) * battery.capacityKWh);
}

/**
 * Seconds until the state of charge reaches `targetPct` under constant flows: 0 when already
 * there, Infinity when the net flow goes the wrong way (or is zero) or the target is outside
 * [0, 100] in the direction of travel.
 */
export function timeToReachS(
  battery: Battery,
  targetPct: number,
  chargerKW: number,
  drawW: number,
): number {
  const gapPct = targetPct - battery.socPct;
  if (gapPct === 0) return 0;
  if (targetPct > 100 || targetPct < 0 || battery.capacityKWh <= 0) return Infinity;
  const netKW = netBatteryKW(battery, { chargerKW, drawW });
  if (netKW === 0 || Math.sign(netKW) !== Math.sign(gapPct)) return Infinity;
  const gapKWh = (gapPct / 100) * battery.capacityKWh;
  return (gapKWh / netKW) * S_PER_H;
}

/**
 * Where a compute draw's energy comes from over `durationS`: the part the charger covers (its wall
 * power × `chargeEfficiency`, default 1 = `chargerKW` taken as delivered power) and the rest, from
 * the battery. gridKWh + batteryKWh = energyKWh(drawW, durationS) (to rounding). gridKWh is energy
 * delivered to the car; the wall energy behind it is gridKWh / chargeEfficiency.
 */
export function splitDraw(
  flows: PowerFlows,
  durationS: number,
  chargeEfficiency = 1,
): { gridKWh: number; batteryKWh: number } {
  const totalKWh = energyKWh(flows.drawW, durationS);
  const deliveredKW = Math.max(0, flows.chargerKW * chargeEfficiency);
  if (deliveredKW * 1000 >= flows.drawW) return { gridKWh: totalKWh, batteryKWh: 0 };
  const gridKWh = (deliveredKW * durationS) / S_PER_H;
  return { gridKWh, batteryKWh: totalKWh - gridKWh };
}
