// What a car is paid for: the server's own figures, with a car's word taken only where it lowers
// them.
//
// Cars are strangers. The duration a car reports for a run and the charge efficiency it enrolled
// with are its word alone, and pay follows energy: power × duration for the compute, divided by
// the charge efficiency for the energy bought at the wall. A longer duration or a lower efficiency
// would raise it. So the ledger pays for the shortest of three spans (the car's claim, the time
// the server saw the lease held, the server's estimate of the run on the car's hardware class),
// and for an efficiency no lower than a floor the server assumes. The hardware class is the one
// the car enrolled with, a known profile (hardware.ts), and the region's tariff is the server's.
import type { Vehicle } from "./types";

/**
 * The charge efficiencies a car may enroll with. Assumption: no charger in service loses half of
 * what it draws; 1 (nothing lost) is the physical ceiling.
 */
export const PLAUSIBLE_CHARGE_EFFICIENCY: Readonly<{ min: number; max: number }> = Object.freeze({
  min: 0.5,
  max: 1,
});

/**
 * The lowest charge efficiency pay assumes. Assumption: AC charging from a wallbox typically
 * loses about 10–15% between the meter and the pack; pay assumes no more than 15% lost. An
 * owner whose charger really loses more is paid a little less than the energy cost them: the
 * server cannot check the figure, so it is not allowed to raise the pay.
 */
export const PAY_CHARGE_EFFICIENCY_FLOOR = 0.85;

/** The spans the paid duration is taken from, all in the same unit (seconds of the car's run). */
export interface RunSpans {
  /** How long the car says the run took: its word. */
  claimedS: number;
  /** How long the server saw the lease held, from its grant to the result's arrival. */
  leaseSpanS: number;
  /** The server's estimate of the run on the car's hardware class (estimatedRunS). */
  estimateS: number;
}

/**
 * The duration a run is paid for: the shortest of the claim, the lease's span and the estimate;
 * 0 when that is not a finite, non-negative number (a claim that is not a duration earns nothing).
 * A car that ran slower than the estimate (a browser tab on WebAssembly) is paid the estimate.
 */
export function paidDurationS(spans: RunSpans): number {
  const s = Math.min(spans.claimedS, spans.leaseSpanS, spans.estimateS);
  return Number.isFinite(s) && s > 0 ? s : 0;
}

/**
 * The charge efficiency pay assumes for a car that claims `claimed`: the claim when it is between
 * the floor and 1, else the nearer of the two (the floor for anything that is not a number).
 */
export function paidChargeEfficiency(claimed: number): number {
  if (!(claimed >= PAY_CHARGE_EFFICIENCY_FLOOR)) return PAY_CHARGE_EFFICIENCY_FLOOR;
  return Math.min(1, claimed);
}

/** The car as pay sees it: its enrolled charge efficiency bounded by paidChargeEfficiency. */
export function payableVehicle(v: Vehicle): Vehicle {
  const chargeEfficiency = paidChargeEfficiency(v.battery.chargeEfficiency);
  if (chargeEfficiency === v.battery.chargeEfficiency) return v;
  return { ...v, battery: { ...v.battery, chargeEfficiency } };
}
