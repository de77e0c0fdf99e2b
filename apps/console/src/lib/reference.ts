// The yardstick the fleet is compared with: one AI datacenter of 300 MW (Colossus in Memphis
// after its second phase, public reporting 2024–2025; see the product brief). Scaled to a fleet
// pro rata: at ~1 kW of inference per car (the newest in-car computers), 300,000 cars match its
// 300 MW, so a fleet of N cars is N ÷ 300,000 of a datacenter and its share of the line is
// N × 1 kW.
export const REFERENCE_DATACENTER_MW = 300;
export const REFERENCE_KW_PER_CAR = 1;
export const REFERENCE_CARS = (REFERENCE_DATACENTER_MW * 1000) / REFERENCE_KW_PER_CAR;

/** The datacenter's power scaled to a fleet of `cars`, in kW. */
export function referenceKW(cars: number): number {
  return cars * REFERENCE_KW_PER_CAR;
}

/** How many whole datacenters `availableKW` amounts to. */
export function datacenterEquivalents(availableKW: number): number {
  return availableKW / (REFERENCE_DATACENTER_MW * 1000);
}
