// The domain's shared vocabulary. Units live in the names: `…S` seconds, `…W` watts,
// `…KWh` kilowatt-hours, `…Pct` percent 0..100, `…Share` fraction 0..1.
//
// Time is always an argument: `nowS` is seconds since a UTC midnight (the Unix epoch in the
// server, the simulation's start date in the simulator). A region's local time is nowS plus the
// UTC offset in force at that instant, read from the offset table the shell worked out from the
// region's time zone (local-time.ts): core never resolves a time zone itself.
import type { OffsetTable } from "./local-time";

/** An in-car AI computer, or the datacenter GPU used as the unit of "equivalents". */
export interface HardwareProfile {
  id: string;
  name: string;
  /** Dense INT8 peak, tera-operations per second. */
  peakTops: number;
  /** Electrical draw while running inference, watts. */
  inferencePowerW: number;
  memoryGB: number;
  /** Year the generation shipped (or is announced to ship). */
  year: number;
  /** Where each figure comes from, or the assumption made where no public figure exists. */
  source: string;
}

/** A time-of-use rate over local hours [start, end); end ≤ start wraps across midnight. */
export interface TariffRate {
  start: number;
  end: number;
  priceUsdPerKWh: number;
}

export interface Region {
  id: string;
  name: string;
  /** IANA time zone ("America/Chicago"): for people and the shell; core reads only `offsets`. */
  timeZone: string;
  /** The zone's UTC offsets over the time the caller asks about (local-time.ts). */
  offsets: OffsetTable;
  /** Rates that cover all 24 local hours exactly once. */
  tariff: readonly TariffRate[];
  /** Grid carbon intensity for each local hour 0..23, gCO2 per kWh. */
  carbonGPerKWh: readonly number[];
  /** An operator drained the region: its cars take no new work. Absent: open. */
  drained?: boolean;
}

export type DriveState = "driving" | "parked" | "charging";

export interface Battery {
  capacityKWh: number;
  /** State of charge, percent of capacity. */
  socPct: number;
  /** Share of wall energy that reaches the battery when charging (0..1). */
  chargeEfficiency: number;
}

/** Local hours [startHour, endHour) in which the owner lets the car compute; may wrap midnight. */
export interface AllowedHours {
  startHour: number;
  endHour: number;
}

export interface OwnerPolicy {
  optedIn: boolean;
  allowedHours: AllowedHours;
  /** Charge the owner wants at the predicted departure, percent. */
  minDepartureChargePct: number;
  /** Charge below which compute never draws the battery, percent. */
  reservePct: number;
}

export interface Reputation {
  validResults: number;
  invalidResults: number;
  /** Valid results in a row since the last invalid one (BOINC's adaptive-replication counter). */
  consecutiveValid: number;
  quarantined: boolean;
}

/** What the scheduler knows of one car at a moment. */
export interface Vehicle {
  id: string;
  ownerId: string;
  regionId: string;
  hardware: HardwareProfile;
  state: DriveState;
  pluggedIn: boolean;
  chargerKW: number;
  battery: Battery;
  policy: OwnerPolicy;
  /** When the car is predicted to drive off, seconds; null when no departure is predicted. */
  predictedDepartureS: number | null;
  /** Spread of the departure prediction (one standard deviation), seconds. */
  departureUncertaintyS: number;
  reputation: Reputation;
  /**
   * When the server last heard from the car, on the scheduling clock; null where there is no
   * link to lose (the simulator's cars). A car not heard from within the config's timeout is
   * offline.
   */
  lastHeardS: number | null;
  /** The battery's temperature as last reported, °C; null when unknown. */
  batteryTempC: number | null;
}

/**
 * What a job's work is scheduled for: "soonest" runs on any car that can take it now; "cheapest"
 * and "cleanest" let a car on dear or dirty grid power wait for a better window, when its
 * departure and the work's deadline leave room for it (defer.ts).
 */
export const OBJECTIVES = ["soonest", "cheapest", "cleanest"] as const;
export type Objective = (typeof OBJECTIVES)[number];

export interface ModelSpec {
  id: string;
  /** Memory the model needs resident, GB. */
  memoryGB: number;
  /** Work of one inference, tera-operations. */
  teraOpsPerInference: number;
}

/** One schedulable unit: a task, or a run of consecutive tasks of one job (the simulator's unit). */
export interface WorkItem {
  id: string;
  jobId: string;
  tenantId: string;
  model: ModelSpec;
  /** Number of inferences in the item. */
  inferences: number;
  /** A divisible item may be bound in part: a car takes a run of as many inferences as fit. */
  divisible: boolean;
  /** The most inferences of a divisible item one car takes at once; unlimited when absent. */
  maxRunInferences?: number;
  /** Higher runs first within a tenant, and is preempted last. */
  priority: number;
  deadlineS: number;
  /** What the work is scheduled for; "soonest" when absent. */
  objective?: Objective;
  /** Region where the input data lives, for the locality score; null when anywhere. */
  dataRegionId: string | null;
  /** Cars and owners that already hold a replica of the same work: the next replica avoids them. */
  excludeVehicleIds: readonly string[];
  excludeOwnerIds: readonly string[];
}

export interface Tenant {
  id: string;
  name: string;
  /** Guaranteed share of the fleet's capacity when the tenant has the demand for it (0..1). */
  quotaShare: number;
  /** Weight in fair sharing of capacity beyond guarantees. */
  weight: number;
  /** Most capacity it may borrow beyond its quota, as a share of the fleet; null = no limit. */
  borrowingLimitShare: number | null;
  /** Most of its unused quota it lends to others, as a share of the fleet; null = all of it. */
  lendingLimitShare: number | null;
  paused: boolean;
}
