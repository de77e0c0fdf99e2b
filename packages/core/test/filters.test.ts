import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_SCHEDULE_CONFIG } from "../src/schedule/config";
import {
  carRejection,
  departureLimitedRunS,
  distinctReplica,
  energyLimitedRunS,
  fitsBeforeDeparture,
  hardwareFits,
  hasEnergy,
  hoursLimitedRunS,
  maxRunS,
  notQuarantined,
  optedInNow,
  parked,
  planRun,
  REASONS,
  staysLongEnough,
  workRejection,
} from "../src/schedule/filters";
import type { Region, Vehicle } from "../src/types";
import { arbNowS, arbRegionSet, arbSchedVehicle, arbWorkItem } from "./arbitraries";
import {
  car,
  CHICAGO_2025,
  CHICAGO_FALL_2025_S,
  CHICAGO_SPRING_2025_S,
  ctxAt,
  fixedZone,
  HOUR_S,
  LA_FALL_2025_S,
  LA_SPRING_2025_S,
  LOS_ANGELES_2025,
  REGION,
  STOCKHOLM_2025,
  STOCKHOLM_FALL_2025_S,
  STOCKHOLM_SPRING_2025_S,
  work,
} from "./fixtures";

// fast-check prints the seed and path of any failure; replay with fc.assert(prop, { seed, path }).

const cfg = DEFAULT_SCHEDULE_CONFIG;
const T0 = 12 * HOUR_S; // 12:00 UTC on day 0
const ctx = ctxAt(T0);
/** UTC−5: local 22:00 is 03:00 UTC. */
const EAST: Region = { ...REGION, id: "r-east", ...fixedZone(-5) };
const ctxEast = (nowS: number) => ctxAt(nowS, [REGION, EAST]);
const nightOwl = (over: Partial<Vehicle> = {}) =>
  car({ regionId: "r-east", ...over }, { allowedHours: { startHour: 22, endHour: 6 } });
/** Battery % of a 75 kWh pack holding `kWh`. */
const pct = (kWh: number) => (kWh / 75) * 100;

describe("car filters", () => {
  it("parked: a driving car is rejected, a parked or charging one passes", () => {
    expect(parked(car({ state: "driving" }), ctx)).toBe("driving");
    expect(parked(car({ state: "parked" }), ctx)).toBeNull();
    expect(parked(car({ state: "charging", pluggedIn: true }), ctx)).toBeNull();
  });

  it("notQuarantined", () => {
    const q = car({
      reputation: { validResults: 9, invalidResults: 3, consecutiveValid: 0, quarantined: true },
    });
    expect(notQuarantined(q, ctx)).toBe("quarantined");
    expect(notQuarantined(car(), ctx)).toBeNull();
  });

  it("optedInNow: an opted-out car is rejected whatever the hour", () => {
    expect(optedInNow(car({}, { optedIn: false }), ctx)).toBe("opted-out");
  });

  it("optedInNow: allowed hours across midnight, read in the region's local time", () => {
    const at = (utcH: number) => optedInNow(nightOwl(), ctxEast(utcH * HOUR_S));
    expect(at(3)).toBeNull(); // local 22:00, the window opens
    expect(at(5 + 2)).toBeNull(); // local 02:00
    expect(at(11 - 1 / 3600)).toBeNull(); // local 05:59:59
    expect(at(11)).toBe("outside-allowed-hours"); // local 06:00, the window has closed
    expect(at(22)).toBe("outside-allowed-hours"); // local 17:00
    expect(at(3 - 1 / 3600)).toBe("outside-allowed-hours"); // local 21:59:59
    expect(at(24 + 3)).toBeNull(); // the next day, same local hour
    // The same UTC instant in a UTC+0 region is local 01:00, inside the same owner's hours.
    const west = car({}, { allowedHours: { startHour: 22, endHour: 6 } });
    expect(optedInNow(west, ctxEast(HOUR_S))).toBeNull();
    expect(optedInNow(nightOwl(), ctxEast(HOUR_S))).toBe("outside-allowed-hours"); // local 20:00
  });

  it("optedInNow: 0–24 and start == end mean all day", () => {
    for (let q = 0; q < 96; q++) {
      const c = ctxEast(q * 900);
      expect(optedInNow(car({}, { allowedHours: { startHour: 0, endHour: 24 } }), c)).toBeNull();
      expect(
        optedInNow(car({ regionId: "r-east" }, { allowedHours: { startHour: 9, endHour: 9 } }), c),
      ).toBeNull();
    }
  });

  it("hasEnergy: a battery exactly at its reserve and not plugged in has nothing to give", () => {
    const atReserve = car(
      { battery: { ...car().battery, socPct: 20 } },
      { minDepartureChargePct: 10 },
    );
    expect(energyLimitedRunS(atReserve, ctx)).toBe(0);
    expect(hasEnergy(atReserve, ctx)).toBe("low-energy");
  });

  it("hasEnergy: at its reserve, a charger larger than the draw carries the work", () => {
    // 3.7 kW × 0.9 = 3.33 kW reaches the battery, above HW4's 160 W.
    const v = car(
      {
        pluggedIn: true,
        chargerKW: 3.7,
        state: "charging",
        battery: { ...car().battery, socPct: 20 },
      },
      { minDepartureChargePct: 10 },
    );
    expect(energyLimitedRunS(v, ctx)).toBe(Infinity);
    expect(hasEnergy(v, ctx)).toBeNull();
    expect(maxRunS(v, ctx)).toBe(cfg.maxRunS);
  });

  it("hasEnergy: at its reserve, a charger smaller than the draw does not", () => {
    const v = car(
      { pluggedIn: true, chargerKW: 0.1, battery: { ...car().battery, socPct: 20 } },
      { minDepartureChargePct: 10 },
    );
    expect(energyLimitedRunS(v, ctx)).toBe(0);
    expect(hasEnergy(v, ctx)).toBe("low-energy");
    // 0.07 kWh above the reserve drains at 160 − 90 = 70 W net: one hour.
    const above = { ...v, battery: { ...v.battery, socPct: pct(15.07) } };
    expect(energyLimitedRunS(above, ctx)).toBeCloseTo(HOUR_S, 6);
    expect(hasEnergy(above, ctx)).toBeNull();
  });

  it("hasEnergy: needs at least minRunS of energy", () => {
    // 160 W for 60 s is 160 × 60 / 3.6e6 kWh.
    const justKWh = (160 * cfg.minRunS) / 3.6e6;
    const v = (extraKWh: number) =>
      car(
        { battery: { ...car().battery, socPct: pct(15 + extraKWh) } },
        { minDepartureChargePct: 10 },
      );
    expect(hasEnergy(v(justKWh * 1.001), ctx)).toBeNull();
    expect(hasEnergy(v(justKWh * 0.999), ctx)).toBe("low-energy");
  });

  it("staysLongEnough: a departure right now, a past one, none, and the boundary with margin and spread", () => {
    expect(staysLongEnough(car({ predictedDepartureS: T0 }), ctx)).toBe("departs-too-soon");
    expect(departureLimitedRunS(car({ predictedDepartureS: T0 }), ctx)).toBe(0);
    expect(departureLimitedRunS(car({ predictedDepartureS: T0 - HOUR_S }), ctx)).toBe(0);
    expect(staysLongEnough(car({ predictedDepartureS: null }), ctx)).toBeNull();
    expect(departureLimitedRunS(car({ predictedDepartureS: null }), ctx)).toBe(Infinity);
    const margin = cfg.safetyMarginS + cfg.departureZ * 100;
    const leaving = (inS: number) =>
      car({ predictedDepartureS: T0 + inS, departureUncertaintyS: 100 });
    expect(departureLimitedRunS(leaving(margin + 500), ctx)).toBeCloseTo(500, 9);
    expect(staysLongEnough(leaving(margin + cfg.minRunS), ctx)).toBeNull();
    expect(staysLongEnough(leaving(margin + cfg.minRunS - 1), ctx)).toBe("departs-too-soon");
  });

  it("carRejection gives the first failing filter, null for an eligible car", () => {
    expect(carRejection(car(), ctx)).toBeNull();
    expect(carRejection(car({ state: "driving", predictedDepartureS: T0 }), ctx)).toBe("driving");
    expect(carRejection(car({ predictedDepartureS: T0 }), ctx)).toBe("departs-too-soon");
  });

  it("REASONS lists the car filters' reasons first, in the order carRejection asks them", () => {
    // A car failing every car filter at once gets each reason in turn as the earlier ones clear.
    const drained = { ...ctx, regions: new Map([[REGION.id, { ...REGION, drained: true }]]) };
    const all = {
      lastHeardS: T0 - ctx.config.offlineAfterS,
      batteryTempC: 41,
      state: "driving" as const,
      reputation: { ...car().reputation, quarantined: true },
      policy: { ...car().policy, optedIn: false },
      predictedDepartureS: T0,
    };
    const seen = [
      carRejection(car(all), drained),
      carRejection(car({ ...all, lastHeardS: T0 }), drained),
      carRejection(car({ ...all, lastHeardS: T0, batteryTempC: 40 }), drained),
      carRejection(car({ ...all, lastHeardS: T0, batteryTempC: 40 }), ctx),
      carRejection(car({ ...all, lastHeardS: null, batteryTempC: null, state: "parked" }), ctx),
      carRejection(
        car({
          ...all,
          lastHeardS: null,
          batteryTempC: null,
          state: "parked",
          reputation: car().reputation,
        }),
        ctx,
      ),
    ];
    expect(seen).toEqual(REASONS.slice(0, 6));
    fc.assert(
      fc.property(arbRegionSet, arbSchedVehicle, arbNowS, (regions, v, nowS) => {
        const reason = carRejection(v, ctxAt(nowS, regions));
        expect(reason === null || REASONS.slice(0, 9).includes(reason)).toBe(true);
      }),
    );
  });
});

describe("work filters", () => {
  it("hardwareFits: a model exactly the car's memory fits, a larger one does not", () => {
    expect(
      hardwareFits(car(), work({ model: { id: "m", memoryGB: 16, teraOpsPerInference: 1 } }), ctx),
    ).toBeNull();
    expect(
      hardwareFits(
        car(),
        work({ model: { id: "m", memoryGB: 16.01, teraOpsPerInference: 1 } }),
        ctx,
      ),
    ).toBe("hardware-too-small");
  });

  it("distinctReplica: an excluded car or owner is rejected", () => {
    expect(distinctReplica(car(), work({ excludeVehicleIds: ["car-1"] }), ctx)).toBe(
      "replica-conflict",
    );
    expect(distinctReplica(car(), work({ excludeOwnerIds: ["owner-1"] }), ctx)).toBe(
      "replica-conflict",
    );
    expect(
      distinctReplica(
        car(),
        work({ excludeVehicleIds: ["car-2"], excludeOwnerIds: ["owner-2"] }),
        ctx,
      ),
    ).toBeNull();
  });

  it("fitsBeforeDeparture: a whole item must fit, a divisible one needs one inference", () => {
    // 100 s before the margin; inferences of 1 s.
    const v = car({ predictedDepartureS: T0 + cfg.safetyMarginS + 100 });
    expect(fitsBeforeDeparture(v, work({ divisible: false, inferences: 100 }), ctx)).toBeNull();
    expect(fitsBeforeDeparture(v, work({ divisible: false, inferences: 101 }), ctx)).toBe(
      "departs-too-soon",
    );
    expect(fitsBeforeDeparture(v, work({ divisible: true, inferences: 100_000 }), ctx)).toBeNull();
    const slow = work({
      divisible: true,
      model: { id: "m", memoryGB: 8, teraOpsPerInference: 150 * 101 },
    });
    expect(fitsBeforeDeparture(v, slow, ctx)).toBe("departs-too-soon");
  });

  it("fitsBeforeDeparture: names low energy when energy is the tighter limit", () => {
    // 0.16 kWh above the reserve at 160 W: one hour.
    const v = car(
      { battery: { ...car().battery, socPct: pct(15.16) } },
      { minDepartureChargePct: 10 },
    );
    expect(energyLimitedRunS(v, ctx)).toBeCloseTo(HOUR_S, 6);
    expect(fitsBeforeDeparture(v, work({ divisible: false, inferences: 3500 }), ctx)).toBeNull();
    expect(fitsBeforeDeparture(v, work({ divisible: false, inferences: 3601 }), ctx)).toBe(
      "low-energy",
    );
    expect(workRejection(v, work({ divisible: false, inferences: 3601 }), ctx)).toBe("low-energy");
  });
});

describe("run limits", () => {
  it("energyLimitedRunS: unplugged, the tighter of reserve and departure minimum", () => {
    // 60 kWh; the minimum at departure (37.5 kWh) binds before the reserve (15 kWh): 22.5 / 0.16 h.
    expect(energyLimitedRunS(car(), ctx)).toBeCloseTo((22.5 / 0.16) * HOUR_S, 6);
    expect(energyLimitedRunS(car({}, { minDepartureChargePct: 10 }), ctx)).toBeCloseTo(
      (45 / 0.16) * HOUR_S,
      6,
    );
    expect(energyLimitedRunS(car({ predictedDepartureS: T0 + 5 * HOUR_S }), ctx)).toBeCloseTo(
      (22.5 / 0.16) * HOUR_S,
      6,
    );
  });

  it("energyLimitedRunS: plugged in, counts what the charger adds until departure", () => {
    // 15 kWh now + 6.66 kW × 10 h = 81.6 kWh at departure if idle; 37.5 kWh wanted.
    const v = car({
      pluggedIn: true,
      chargerKW: 7.4,
      state: "charging",
      predictedDepartureS: T0 + 10 * HOUR_S,
      battery: { ...car().battery, socPct: 20 },
    });
    expect(energyLimitedRunS(v, ctx)).toBeCloseTo(((15 + 66.6 - 37.5) / 0.16) * HOUR_S, 3);
    // Below the departure minimum with a departure now: nothing.
    expect(energyLimitedRunS({ ...v, predictedDepartureS: T0 }, ctx)).toBe(0);
  });

  it("hoursLimitedRunS: until the window closes in local time; 0 outside; Infinity all day", () => {
    expect(hoursLimitedRunS(nightOwl(), ctxEast(3 * HOUR_S))).toBe(8 * HOUR_S); // local 22:00
    expect(hoursLimitedRunS(nightOwl(), ctxEast(10.5 * HOUR_S))).toBeCloseTo(0.5 * HOUR_S, 6); // local 05:30
    expect(hoursLimitedRunS(nightOwl(), ctxEast(12 * HOUR_S))).toBe(0); // local 07:00
    expect(hoursLimitedRunS(car(), ctx)).toBe(Infinity);
    expect(hoursLimitedRunS(car({}, { allowedHours: { startHour: 9, endHour: 9 } }), ctx)).toBe(
      Infinity,
    );
    // 20:00–24:00 at 23:00 local: one hour left.
    expect(
      hoursLimitedRunS(
        car({}, { allowedHours: { startHour: 20, endHour: 24 } }),
        ctxAt(23 * HOUR_S),
      ),
    ).toBe(HOUR_S);
  });

  it("maxRunS: every limit at once, capped by the config", () => {
    expect(maxRunS(car(), ctx)).toBe(cfg.maxRunS);
    expect(maxRunS(nightOwl(), ctxEast(10.5 * HOUR_S))).toBeCloseTo(0.5 * HOUR_S, 6);
    expect(maxRunS(car({ predictedDepartureS: T0 + cfg.safetyMarginS + 300 }), ctx)).toBe(300);
    const low = car(
      { battery: { ...car().battery, socPct: pct(15.16) } },
      { minDepartureChargePct: 10 },
    );
    expect(maxRunS(low, ctx)).toBeCloseTo(HOUR_S, 6);
  });
});

describe("owner hours across the 2025 daylight saving changes", () => {
  // Each change: its table, its instant, the local hour just before it, and whether clocks go forward.
  const changes = [
    {
      name: "Los Angeles spring",
      offsets: LOS_ANGELES_2025,
      atS: LA_SPRING_2025_S,
      before: 2,
      spring: true,
    },
    {
      name: "Los Angeles fall",
      offsets: LOS_ANGELES_2025,
      atS: LA_FALL_2025_S,
      before: 2,
      spring: false,
    },
    {
      name: "Chicago spring",
      offsets: CHICAGO_2025,
      atS: CHICAGO_SPRING_2025_S,
      before: 2,
      spring: true,
    },
    {
      name: "Chicago fall",
      offsets: CHICAGO_2025,
      atS: CHICAGO_FALL_2025_S,
      before: 2,
      spring: false,
    },
    {
      name: "Stockholm spring",
      offsets: STOCKHOLM_2025,
      atS: STOCKHOLM_SPRING_2025_S,
      before: 2,
      spring: true,
    },
    {
      name: "Stockholm fall",
      offsets: STOCKHOLM_2025,
      atS: STOCKHOLM_FALL_2025_S,
      before: 3,
      spring: false,
    },
  ];

  describe.each(changes)("$name", ({ offsets, atS, before, spring }) => {
    const zone: Region = { ...REGION, id: "r-dst", timeZone: "Test/DST", offsets };
    const at = (nowS: number) => ctxAt(nowS, [zone]);
    const owner = (startHour: number, endHour: number) =>
      car({ regionId: "r-dst" }, { allowedHours: { startHour, endHour } });

    it("a night window 22:00–06:00 is an hour shorter (spring) or longer (fall) in real time", () => {
      // Local midnight before the change.
      const midnightS = atS - before * HOUR_S;
      expect(optedInNow(owner(22, 6), at(midnightS))).toBeNull();
      expect(hoursLimitedRunS(owner(22, 6), at(midnightS))).toBe((spring ? 5 : 7) * HOUR_S);
      // And it closes when the clocks read 06:00.
      const closeS = midnightS + (spring ? 5 : 7) * HOUR_S;
      expect(optedInNow(owner(22, 6), at(closeS - 1))).toBeNull();
      expect(optedInNow(owner(22, 6), at(closeS))).toBe("outside-allowed-hours");
    });

    it("reads the owner's hours on the clocks from the change on", () => {
      // A window that ends at the hour the change skips to (spring) or that starts after the
      // repeated hour (fall): the second before the change and the change itself disagree.
      if (spring) {
        const w = owner(20, before + 1);
        expect(optedInNow(w, at(atS - 1))).toBeNull();
        expect(optedInNow(w, at(atS))).toBe("outside-allowed-hours");
        expect(hoursLimitedRunS(w, at(atS - 60))).toBe(60);
      } else {
        const w = owner(before - 0.5, 6);
        // Inside at the last minute before the change; at the change the clocks go back an hour,
        // before the window opens again, so the run limit is that minute.
        expect(optedInNow(w, at(atS - 60))).toBeNull();
        expect(hoursLimitedRunS(w, at(atS - 60))).toBe(60);
        expect(optedInNow(w, at(atS))).toBe("outside-allowed-hours");
        expect(optedInNow(w, at(atS + 0.5 * HOUR_S))).toBeNull();
      }
    });
  });
});

describe("planRun", () => {
  it("takes all of a divisible item that fits", () => {
    expect(planRun(car(), work({ inferences: 10 }), ctx)).toBe(10);
  });

  it("takes as much of a divisible item as fits in the longest run", () => {
    expect(planRun(car(), work({ inferences: 100_000 }), ctx)).toBe(cfg.maxRunS);
    const leaving = car({ predictedDepartureS: T0 + cfg.safetyMarginS + 300.5 });
    expect(planRun(leaving, work({ inferences: 100_000 }), ctx)).toBe(300);
  });

  it("takes an indivisible item whole or not at all", () => {
    expect(planRun(car(), work({ divisible: false, inferences: cfg.maxRunS }), ctx)).toBe(
      cfg.maxRunS,
    );
    expect(planRun(car(), work({ divisible: false, inferences: cfg.maxRunS + 1 }), ctx)).toBe(0);
  });

  it("caps a divisible run at maxRunInferences", () => {
    expect(planRun(car(), work({ inferences: 100_000, maxRunInferences: 50 }), ctx)).toBe(50);
    expect(planRun(car(), work({ inferences: 20, maxRunInferences: 50 }), ctx)).toBe(20);
  });

  it("gives nothing when the car or the work fails a filter", () => {
    const w = work();
    expect(planRun(car({ state: "driving" }), w, ctx)).toBe(0);
    expect(planRun(car({}, { optedIn: false }), w, ctx)).toBe(0);
    expect(planRun(nightOwl(), w, ctxEast(12 * HOUR_S))).toBe(0);
    expect(planRun(car({ predictedDepartureS: T0 }), w, ctx)).toBe(0);
    expect(planRun(car({ battery: { ...car().battery, socPct: 20 } }), w, ctx)).toBe(0);
    expect(
      planRun(car(), work({ model: { id: "m", memoryGB: 64, teraOpsPerInference: 150 } }), ctx),
    ).toBe(0);
    expect(planRun(car(), work({ excludeOwnerIds: ["owner-1"] }), ctx)).toBe(0);
    const q = car({ reputation: { ...car().reputation, quarantined: true } });
    expect(planRun(q, w, ctx)).toBe(0);
  });
});

// ---- properties ----

/** The local hour from the region's offset table, by a plain scan of its entries. */
function naiveLocalHour(region: Region, nowS: number): number {
  let offsetS = region.offsets[0]!.offsetS;
  for (const e of region.offsets) if (e.fromS <= nowS) offsetS = e.offsetS;
  return ((((nowS + offsetS) / 3600) % 24) + 24) % 24;
}

/** Local hour, and whether it is inside the owner's window, worked out here from the types' docs. */
function insideLocalHours(v: Vehicle, region: Region, nowS: number): boolean {
  const hour = naiveLocalHour(region, nowS);
  const { startHour: s, endHour: e } = v.policy.allowedHours;
  if (s === e || (s === 0 && e === 24)) return true;
  return s < e ? hour >= s && hour < e : hour >= s || hour < e;
}

/**
 * Seconds from `nowS` until the owner's window closes (Infinity all day), by a scan of the minute
 * grid: whole-hour windows, whole-hour offsets and changes on the minute grid close on it.
 */
function untilWindowEndsS(v: Vehicle, region: Region, nowS: number): number {
  const { startHour: s, endHour: e } = v.policy.allowedHours;
  if (s === e || (s === 0 && e === 24)) return Infinity;
  if (!insideLocalHours(v, region, nowS)) return 0;
  for (let t = Math.floor(nowS / 60) * 60 + 60; t < nowS + 2 * 86_400; t += 60) {
    if (!insideLocalHours(v, region, t)) return t - nowS;
  }
  return Infinity;
}

/**
 * Charge in kWh while the car runs `runS` seconds from now, and at its predicted departure, by
 * direct simulation: the computer draws its inference power, a plugged-in car's charger adds
 * chargerKW × efficiency, the battery never holds more than its capacity, and after the run the
 * charger goes on until departure.
 */
function simulate(v: Vehicle, runS: number, nowS: number) {
  const cap = v.battery.capacityKWh;
  const chargeKW = v.pluggedIn ? v.chargerKW * v.battery.chargeEfficiency : 0;
  const netKW = chargeKW - v.hardware.inferencePowerW / 1000;
  const startKWh = (v.battery.socPct / 100) * cap;
  const endKWh =
    netKW > 0
      ? Math.min(Math.max(cap, startKWh), startKWh + (netKW * runS) / 3600)
      : startKWh + (netKW * runS) / 3600;
  const departureKWh =
    v.predictedDepartureS === null
      ? null
      : Math.min(
          Math.max(cap, endKWh),
          endKWh + (chargeKW * Math.max(0, v.predictedDepartureS - nowS - runS)) / 3600,
        );
  // The trajectory is monotone over the run, so its low point is at one end.
  return { startKWh, lowKWh: Math.min(startKWh, endKWh), endKWh, departureKWh };
}

describe("planRun: properties", () => {
  const arbCase = fc
    .record({
      regions: arbRegionSet,
      v: arbSchedVehicle,
      w: arbWorkItem(),
      nowS: arbNowS,
      excludeThisCar: fc.integer({ min: 0, max: 9 }),
    })
    .map(({ regions, v, w, nowS, excludeThisCar }) => ({
      regions,
      v,
      nowS,
      w: excludeThisCar === 0 ? { ...w, excludeVehicleIds: [...w.excludeVehicleIds, v.id] } : w,
    }));

  it("a run is only planned for a car that may run it, and keeps every owner and departure limit", () => {
    let planned = 0;
    let runs = 0;
    fc.assert(
      fc.property(arbCase, ({ regions, v, w, nowS }) => {
        runs++;
        const c = ctxAt(nowS, regions);
        const n = planRun(v, w, c);
        expect(Number.isInteger(n) && n >= 0 && n <= w.inferences).toBe(true);
        if (n === 0) return;
        planned++;
        const region = regions.find((r) => r.id === v.regionId) as Region;
        const perS = w.model.teraOpsPerInference / (v.hardware.peakTops * cfg.sustainedTopsShare);
        const runS = n * perS;
        const eps = 1e-6;

        // (a) parked, opted in, inside its local hours, not quarantined
        expect(v.state).not.toBe("driving");
        expect(v.policy.optedIn).toBe(true);
        expect(insideLocalHours(v, region, nowS)).toBe(true);
        expect(v.reputation.quarantined).toBe(false);
        // (b) energy: the run never takes the charge below the reserve; at departure the minimum
        const cap = v.battery.capacityKWh;
        const s = simulate(v, runS, nowS);
        const reserveKWh = (v.policy.reservePct / 100) * cap;
        const minDepartureKWh = (v.policy.minDepartureChargePct / 100) * cap;
        const tol = eps * cap;
        expect(s.lowKWh >= reserveKWh - tol || s.endKWh >= s.startKWh).toBe(true);
        if (s.departureKWh !== null)
          expect(s.departureKWh).toBeGreaterThanOrEqual(minDepartureKWh - tol);
        // With no predicted departure the car may leave at any moment: it keeps the minimum throughout.
        else expect(s.endKWh >= minDepartureKWh - tol || s.endKWh >= s.startKWh).toBe(true);
        // (c) done, with the margin, before the predicted departure
        if (v.predictedDepartureS !== null) {
          expect(nowS + runS + cfg.safetyMarginS).toBeLessThanOrEqual(v.predictedDepartureS + eps);
        }
        // (d) memory, (e) replicas
        expect(w.model.memoryGB).toBeLessThanOrEqual(v.hardware.memoryGB);
        expect(w.excludeVehicleIds).not.toContain(v.id);
        expect(w.excludeOwnerIds).not.toContain(v.ownerId);
        // The run's own bounds: whole or part, the cap, the longest run, the owner's window.
        if (!w.divisible) expect(n).toBe(w.inferences);
        if (w.divisible && w.maxRunInferences !== undefined)
          expect(n).toBeLessThanOrEqual(w.maxRunInferences);
        expect(runS).toBeLessThanOrEqual(cfg.maxRunS + eps);
        expect(nowS + runS).toBeLessThanOrEqual(nowS + untilWindowEndsS(v, region, nowS) + eps);
      }),
      { numRuns: 3000 },
    );
    // Guard against a vacuous property: enough cases must actually plan a run.
    expect(planned).toBeGreaterThan(runs * 0.02);
  });

  it("a planned run is the longest that fits: one more inference would break a limit", () => {
    fc.assert(
      fc.property(arbCase, ({ regions, v, w, nowS }) => {
        const c = ctxAt(nowS, regions);
        const n = planRun(v, w, c);
        if (n === 0 || !w.divisible || n === w.inferences || n === w.maxRunInferences) return;
        const perS = w.model.teraOpsPerInference / (v.hardware.peakTops * cfg.sustainedTopsShare);
        expect((n + 1) * perS).toBeGreaterThan(maxRunS(v, c) * (1 - 1e-12));
      }),
      { numRuns: 1000 },
    );
  });

  it("agrees with the filters: no filter rejects a car and work that get a run", () => {
    fc.assert(
      fc.property(arbCase, ({ regions, v, w, nowS }) => {
        const c = ctxAt(nowS, regions);
        if (planRun(v, w, c) > 0) {
          expect(carRejection(v, c)).toBeNull();
          expect(workRejection(v, w, c)).toBeNull();
        }
      }),
      { numRuns: 1000 },
    );
  });
});
