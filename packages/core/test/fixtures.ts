// Hand-built cars, tenants, work, regions and contexts for example tests. Every figure is
// chosen so that the expected answers can be worked out by hand: on `fsd-hw4` (500 TOPS × 0.3
// sustained = 150 TOPS, 160 W), an inference of 150 TeraOp takes exactly 1 s.
import { HARDWARE } from "../src/hardware";
import { fixedOffset, type OffsetTable } from "../src/local-time";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleConfig, type ScheduleContext } from "../src/schedule/config";
import type { TenantState } from "../src/schedule/decide";
import { entitlements } from "../src/tenants";
import type { HardwareProfile, Region, TariffRate, Tenant, Vehicle, WorkItem } from "../src/types";

export const HOUR_S = 3600;

/** Off-peak 00–06 at 0.10, day 06–22 at 0.30, evening 22–24 at 0.20 (local time). */
export const THREE_RATE_TARIFF: TariffRate[] = [
  { start: 22, end: 0, priceUsdPerKWh: 0.2 },
  { start: 0, end: 6, priceUsdPerKWh: 0.1 },
  { start: 6, end: 22, priceUsdPerKWh: 0.3 },
];
export const HW4 = HARDWARE["fsd-hw4"] as HardwareProfile;

/** A zone at a fixed offset of `offsetH` hours (no daylight saving time). */
export function fixedZone(offsetH: number): Pick<Region, "timeZone" | "offsets"> {
  const sign = offsetH <= 0 ? "+" : "-";
  // IANA's Etc zones invert the sign: Etc/GMT+5 is UTC−5.
  return { timeZone: offsetH === 0 ? "UTC" : `Etc/GMT${sign}${Math.abs(offsetH)}`, offsets: fixedOffset(offsetH * HOUR_S) };
}

// The 2025 daylight saving changes of the default scenario's zones, as tzdata has them (the
// time-zones package's tests check that Intl gives these same instants). Unix seconds.
/** Los Angeles: PST (UTC−8) to PDT (UTC−7) at 02:00 local on 9 March, back at 02:00 on 2 November. */
export const LA_SPRING_2025_S = 1_741_514_400;
export const LA_FALL_2025_S = 1_762_074_000;
/** Chicago: CST (UTC−6) to CDT (UTC−5) at 02:00 local on 9 March, back at 02:00 on 2 November. */
export const CHICAGO_SPRING_2025_S = 1_741_507_200;
export const CHICAGO_FALL_2025_S = 1_762_066_800;
/** Stockholm: CET (UTC+1) to CEST (UTC+2) at 02:00 local on 30 March, back at 03:00 on 26 October. */
export const STOCKHOLM_SPRING_2025_S = 1_743_296_400;
export const STOCKHOLM_FALL_2025_S = 1_761_440_400;

/** A zone's 2025 table, standard time from New Year on, summer time between the changes. */
function year2025(standardH: number, springS: number, fallS: number): OffsetTable {
  return [
    { fromS: 1_735_689_600, offsetS: standardH * HOUR_S },
    { fromS: springS, offsetS: (standardH + 1) * HOUR_S },
    { fromS: fallS, offsetS: standardH * HOUR_S },
  ];
}
export const LOS_ANGELES_2025 = year2025(-8, LA_SPRING_2025_S, LA_FALL_2025_S);
export const CHICAGO_2025 = year2025(-6, CHICAGO_SPRING_2025_S, CHICAGO_FALL_2025_S);
export const STOCKHOLM_2025 = year2025(1, STOCKHOLM_SPRING_2025_S, STOCKHOLM_FALL_2025_S);

/**
 * Offsets for the default scenario's zones in winter (no change in reach): what a simulation
 * starting in January is given, in sim time.
 */
export const WINTER_OFFSETS: Readonly<Record<string, OffsetTable>> = {
  "America/Los_Angeles": fixedOffset(-8 * HOUR_S),
  "America/Chicago": fixedOffset(-6 * HOUR_S),
  "Europe/Stockholm": fixedOffset(1 * HOUR_S),
};

/** UTC+0; cheap and clean 00:00–06:00, dear and dirty 17:00–21:00. */
export const REGION: Region = {
  id: "r-west",
  name: "West",
  ...fixedZone(0),
  tariff: [
    { start: 0, end: 6, priceUsdPerKWh: 0.1 },
    { start: 6, end: 17, priceUsdPerKWh: 0.25 },
    { start: 17, end: 21, priceUsdPerKWh: 0.5 },
    { start: 21, end: 24, priceUsdPerKWh: 0.25 },
  ],
  carbonGPerKWh: Array.from({ length: 24 }, (_, h) => (h < 6 ? 100 : h >= 17 && h < 21 ? 600 : 300)),
};

export function ctxAt(
  nowS: number,
  regions: readonly Region[] = [REGION],
  config: ScheduleConfig = DEFAULT_SCHEDULE_CONFIG,
): ScheduleContext {
  return { nowS, regions: new Map(regions.map((r) => [r.id, r])), config };
}

/**
 * A parked, opted-in HW4 car in r-west, allowed all day, 75 kWh at 80 % (60 kWh), reserve 20 %,
 * 50 % wanted at departure, no departure predicted, not plugged in.
 */
export function car(over: Partial<Vehicle> = {}, policy: Partial<Vehicle["policy"]> = {}): Vehicle {
  return {
    id: "car-1",
    ownerId: "owner-1",
    regionId: "r-west",
    hardware: HW4,
    state: "parked",
    pluggedIn: false,
    chargerKW: 0,
    battery: { capacityKWh: 75, socPct: 80, chargeEfficiency: 0.9 },
    predictedDepartureS: null,
    departureUncertaintyS: 0,
    reputation: { validResults: 0, invalidResults: 0, consecutiveValid: 0, quarantined: false },
    lastHeardS: null,
    batteryTempC: null,
    ...over,
    policy: {
      optedIn: true,
      allowedHours: { startHour: 0, endHour: 24 },
      minDepartureChargePct: 50,
      reservePct: 20,
      ...over.policy,
      ...policy,
    },
  };
}

/** 10 inferences of 1 s each on HW4, an 8 GB model, divisible unless told otherwise. */
export function work(over: Partial<WorkItem> = {}): WorkItem {
  return {
    id: "w1",
    jobId: "job-1",
    tenantId: "t1",
    model: { id: "m", memoryGB: 8, teraOpsPerInference: 150 },
    inferences: 10,
    divisible: true,
    priority: 0,
    deadlineS: 10 * HOUR_S,
    dataRegionId: null,
    excludeVehicleIds: [],
    excludeOwnerIds: [],
    ...over,
  };
}

export function tenant(id: string, over: Partial<Tenant> = {}): Tenant {
  return {
    id,
    name: id,
    quotaShare: 0,
    weight: 1,
    borrowingLimitShare: null,
    lendingLimitShare: null,
    paused: false,
    ...over,
  };
}

/** Tenant state with no usage and entitlements for `capacity` slots and the given demand. */
export function tenantState(
  tenants: readonly Tenant[],
  capacity: number,
  demand: ReadonlyMap<string, number>,
  usage: ReadonlyMap<string, number> = new Map(),
): TenantState {
  return { tenants, usage, entitlements: entitlements(capacity, tenants, demand) };
}
