// The cost of a piece of work on one car: energy, where it comes from, what it costs, its carbon
// and what the owner is paid.
//
// Model (see battery.ts): the charger delivers wall kW × chargeEfficiency to the car; the compute
// draw is fed from that first and from the battery for the rest. Every kWh that reaches the car
// was bought at the wall as kWh / chargeEfficiency: grid-fed energy at the tariff during the work,
// battery energy when it is put back, in the cheapest window before the car leaves.
import { energyKWh, splitDraw } from "./battery";
import { bestWindow, meanOver, type TimeWindow } from "./tariff";
import type { Region, Vehicle } from "./types";

const S_PER_H = 3600;

export interface CostConfig {
  /** Battery degradation per kWh cycled through the pack, USD. */
  batteryWearUsdPerKWh: number;
  /** Owner's pay for compute on top of the energy reimbursement, USD per 10^15 operations. */
  computeUsdPerPetaOp: number;
  /** How far ahead to look for a recharge window when no departure is predicted, s. */
  recoveryHorizonS: number;
}

export const DEFAULT_COST_CONFIG: Readonly<CostConfig> = Object.freeze({
  // Assumption: a pack at ~$130/kWh (BloombergNEF's 2023 average was $139/kWh, 2024 $115/kWh)
  // lasting ~1,500 full cycles: 130 / 1,500 ≈ $0.087 per kWh cycled.
  batteryWearUsdPerKWh: 0.09,
  // Assumption: an H100 rents for ~$2/h (2025 cloud market) and sustains ~30% of its 1,979 dense
  // INT8 TOPS in real inference: 594 TOPS × 3,600 s ≈ 2,100 PetaOp/h → ≈ $0.001 per PetaOp. The
  // owner gets a tenth of that market rate.
  computeUsdPerPetaOp: 0.0001,
  recoveryHorizonS: 24 * S_PER_H,
});

/** Charger power assumed for recharging a car that has none recorded: a 32 A single-phase home wallbox. */
export const DEFAULT_HOME_CHARGER_KW = 7.4;

export interface Work {
  startS: number;
  durationS: number;
  teraOps: number;
}

export interface WorkCost {
  /** Energy the compute draws, kWh = inferencePowerW × durationS; = grid + battery. */
  energyKWh: number;
  /** Part of energyKWh fed directly by the charger during the work. */
  gridEnergyKWh: number;
  /** Part of energyKWh taken from the battery (and bought back later). */
  batteryEnergyKWh: number;
  /** Marginal price per kWh of compute energy, blended over both sources: costUsd / energyKWh (0 when no energy). */
  priceUsdPerKWh: number;
  /** = gridCostUsd + rechargeCostUsd + wearCostUsd. */
  costUsd: number;
  carbonG: number;
  /** What the owner is owed if the work validates: costUsd + computeUsd. */
  ownerPayoutUsd: number;

  /** Energy bought at the wall for it: (grid + battery) / chargeEfficiency. */
  wallEnergyKWh: number;
  gridCostUsd: number;
  /** Cost of buying the battery energy back in the recovery window. */
  rechargeCostUsd: number;
  wearCostUsd: number;
  /** Pay for the compute itself, on top of the energy. */
  computeUsd: number;
  /** Where the battery energy is bought back; null when none was taken from the battery. */
  recoveryWindow: TimeWindow | null;
}

function assertNonNegative(what: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) {
    throw new RangeError(`${what} must be a finite number ≥ 0, got ${v}`);
  }
}

/**
 * The cheapest window (by price) after `fromS` to put `batteryKWh` back: before the predicted
 * departure when it fits there, else within `recoveryHorizonS`, else (a recharge longer than the
 * horizon) the window straight after the work.
 */
export function recoveryWindow(
  vehicle: Vehicle,
  region: Region,
  fromS: number,
  batteryKWh: number,
  config: CostConfig,
): TimeWindow {
  const chargerKW = vehicle.chargerKW > 0 ? vehicle.chargerKW : DEFAULT_HOME_CHARGER_KW;
  const durationS = (batteryKWh / (chargerKW * vehicle.battery.chargeEfficiency)) * S_PER_H;
  const departureS = vehicle.predictedDepartureS;
  const beforeDeparture =
    departureS !== null && departureS > fromS
      ? bestWindow(region, { fromS, deadlineS: departureS, durationS, by: "price" })
      : null;
  const found =
    beforeDeparture ??
    bestWindow(region, {
      fromS,
      deadlineS: fromS + config.recoveryHorizonS,
      durationS,
      by: "price",
    });
  if (found !== null) return found;
  const endS = fromS + durationS;
  return {
    startS: fromS,
    endS,
    meanPriceUsdPerKWh: meanOver(region, fromS, endS, "price"),
    meanCarbonGPerKWh: meanOver(region, fromS, endS, "carbon"),
  };
}

export function workCost(
  vehicle: Vehicle,
  region: Region,
  work: Work,
  config: CostConfig,
): WorkCost {
  assertNonNegative("durationS", work.durationS);
  assertNonNegative("teraOps", work.teraOps);
  if (!Number.isFinite(work.startS))
    throw new RangeError(`startS must be finite, got ${work.startS}`);
  const efficiency = vehicle.battery.chargeEfficiency;
  if (!(efficiency > 0 && efficiency <= 1)) {
    throw new RangeError(`chargeEfficiency must be in (0, 1], got ${efficiency} (${vehicle.id})`);
  }

  const drawW = vehicle.hardware.inferencePowerW;
  const endS = work.startS + work.durationS;
  const chargerKW = vehicle.pluggedIn && vehicle.chargerKW > 0 ? vehicle.chargerKW : 0;
  const split =
    chargerKW > 0
      ? splitDraw({ chargerKW, drawW }, work.durationS, efficiency)
      : { gridKWh: 0, batteryKWh: energyKWh(drawW, work.durationS) };
  const gridEnergyKWh = split.gridKWh;
  const batteryEnergyKWh = split.batteryKWh;

  let gridCostUsd = 0;
  let gridCarbonG = 0;
  if (gridEnergyKWh > 0) {
    const wallKWh = gridEnergyKWh / efficiency;
    gridCostUsd = wallKWh * meanOver(region, work.startS, endS, "price");
    gridCarbonG = wallKWh * meanOver(region, work.startS, endS, "carbon");
  }

  let rechargeCostUsd = 0;
  let wearCostUsd = 0;
  let batteryCarbonG = 0;
  let window: TimeWindow | null = null;
  if (batteryEnergyKWh > 0) {
    window = recoveryWindow(vehicle, region, endS, batteryEnergyKWh, config);
    const wallKWh = batteryEnergyKWh / efficiency;
    rechargeCostUsd = wallKWh * window.meanPriceUsdPerKWh;
    wearCostUsd = batteryEnergyKWh * config.batteryWearUsdPerKWh;
    batteryCarbonG = wallKWh * window.meanCarbonGPerKWh;
  }

  const totalKWh = gridEnergyKWh + batteryEnergyKWh;
  const costUsd = gridCostUsd + rechargeCostUsd + wearCostUsd;
  const computeUsd = config.computeUsdPerPetaOp * (work.teraOps / 1000);
  return {
    energyKWh: totalKWh,
    gridEnergyKWh,
    batteryEnergyKWh,
    priceUsdPerKWh: totalKWh > 0 ? costUsd / totalKWh : 0,
    costUsd,
    carbonG: gridCarbonG + batteryCarbonG,
    ownerPayoutUsd: costUsd + computeUsd,
    wallEnergyKWh: totalKWh / efficiency,
    gridCostUsd,
    rechargeCostUsd,
    wearCostUsd,
    computeUsd,
    recoveryWindow: window,
  };
}

/** What the owner is paid for the work: nothing unless its result validated. */
export function ownerPayoutUsd(cost: Pick<WorkCost, "ownerPayoutUsd">, validated: boolean): number {
  return validated ? cost.ownerPayoutUsd : 0;
}
