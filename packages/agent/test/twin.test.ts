import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  advance,
  createSimulatedTwin,
  createTwin,
  DEFAULT_LIMITS,
  heartbeatOf,
  park,
  startDriving,
  type Twin,
  workBlocker,
} from "../src/twin";
import { arbStep, arbTwin, T0_MS } from "./arbitraries";

const HOUR_S = 3600;

describe("advance", () => {
  it("draws compute energy as power × time from a parked, unplugged car", () => {
    const twin = createTwin({ nowMs: T0_MS, socPct: 50, batteryKWh: 100, hardwareId: "ai5-class" });
    const after = advance(twin, HOUR_S, 1000);
    // 1 kW for an hour = 1 kWh = 1% of 100 kWh.
    expect(after.socPct).toBeCloseTo(49, 10);
    expect(after.totals.computeKWh).toBeCloseTo(1, 10);
    expect(after.nowMs).toBe(T0_MS + HOUR_S * 1000);
    expect(after.computeCutOff).toBe(false);
  });

  it("adds the charger's power × efficiency while plugged in, less what compute takes", () => {
    const twin = createTwin({
      nowMs: T0_MS,
      socPct: 50,
      batteryKWh: 100,
      pluggedIn: true,
      chargerKW: 10,
      chargeEfficiency: 0.9,
    });
    expect(twin.state).toBe("charging");
    const after = advance(twin, HOUR_S, 1000);
    // 10 kW × 0.9 = 9 kWh in, 1 kWh to compute: +8% of 100 kWh.
    expect(after.socPct).toBeCloseTo(58, 10);
    expect(after.totals.chargedKWh).toBeCloseTo(8, 10);
  });

  it("stops charging at 100% and is then parked, plugged in", () => {
    const twin = createTwin({
      nowMs: T0_MS,
      socPct: 99,
      batteryKWh: 50,
      pluggedIn: true,
      chargerKW: 11,
    });
    const after = advance(twin, HOUR_S, 0);
    expect(after.socPct).toBe(100);
    expect(after.state).toBe("parked");
    expect(after.pluggedIn).toBe(true);
  });

  it("cuts compute off at the owner's reserve", () => {
    const twin = createTwin({ nowMs: T0_MS, socPct: 21, batteryKWh: 10, hardwareId: "ai5-class" });
    // 1 kW for an hour would take 10% of 10 kWh; only 1% is above the 20% reserve.
    const after = advance(twin, HOUR_S, 1000);
    expect(after.socPct).toBeCloseTo(20, 10);
    expect(after.computeCutOff).toBe(true);
    expect(after.totals.computeKWh).toBeCloseTo(0.1, 10);
    expect(workBlocker(after)).toBe("reserve");
  });

  it("draws nothing for compute while driving, and the trip's energy instead", () => {
    const twin = startDriving(createTwin({ nowMs: T0_MS, socPct: 50, batteryKWh: 100 }), 20);
    const after = advance(twin, HOUR_S / 2, 1000);
    expect(after.socPct).toBeCloseTo(40, 10);
    expect(after.totals.computeKWh).toBe(0);
    expect(after.totals.drivenKWh).toBeCloseTo(10, 10);
  });

  it("refuses a negative or infinite step, naming it", () => {
    const twin = createTwin({ nowMs: T0_MS });
    expect(() => advance(twin, -1, 0)).toThrow(/dtS/);
    expect(() => advance(twin, Infinity, 0)).toThrow(/dtS/);
    expect(() => advance(twin, 1, Number.NaN)).toThrow(/computeW/);
  });

  it("keeps the charge within [0, 100], whatever the steps", () => {
    fc.assert(
      fc.property(arbTwin, fc.array(arbStep, { maxLength: 30 }), (start, steps) => {
        let t = start;
        for (const { dtS, computeW } of steps) {
          t = advance(t, dtS, computeW);
          expect(t.socPct).toBeGreaterThanOrEqual(0);
          expect(t.socPct).toBeLessThanOrEqual(100);
          expect(Number.isFinite(t.batteryTempC)).toBe(true);
        }
      }),
    );
  });

  it("never lets compute take the charge below the reserve", () => {
    fc.assert(
      fc.property(arbTwin, fc.array(arbStep, { maxLength: 30 }), (start, steps) => {
        let t = start;
        for (const { dtS, computeW } of steps) {
          const before = t;
          t = advance(t, dtS, computeW);
          // Only driving lowers the charge below where compute may go; with no trip in the
          // step, the charge ends at or above min(before, reserve).
          const drove = before.state === "driving" || t.totals.drivenKWh > before.totals.drivenKWh;
          if (!drove) {
            expect(t.socPct).toBeGreaterThanOrEqual(
              Math.min(before.socPct, before.limits.reservePct) - 1e-9,
            );
          }
          // Compute energy is never more than the draw × the time that passed (epoch ms are
          // floats: a step of nanoseconds moves the clock by its rounding).
          const askedKWh = (computeW * (t.nowMs - before.nowMs)) / 1000 / 3.6e6;
          expect(t.totals.computeKWh - before.totals.computeKWh).toBeLessThanOrEqual(
            askedKWh * (1 + 1e-9) + 1e-12,
          );
        }
      }),
    );
  });

  it("is one step or many: the same energy and state", () => {
    fc.assert(
      fc.property(arbTwin, fc.integer({ min: 1, max: 20 }), (start, n) => {
        const once = advance(start, 600 * n, 0);
        let many = start;
        for (let i = 0; i < n; i++) many = advance(many, 600, 0);
        expect(many.state).toBe(once.state);
        expect(many.nowMs).toBe(once.nowMs);
        expect(many.socPct).toBeCloseTo(once.socPct, 6);
      }),
    );
  });
});

describe("a simulated car's day", () => {
  it("replays exactly from its seed", () => {
    const run = (seed: number) => {
      let t = createSimulatedTwin(T0_MS, seed);
      const states: string[] = [];
      for (let i = 0; i < 24 * 6; i++) {
        t = advance(t, 600, t.state === "driving" ? 0 : t.computeW);
        states.push(`${t.state}:${t.socPct.toFixed(6)}`);
      }
      return states;
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it("parks and drives during a day, and predicts each departure", () => {
    let drove = 0;
    let parkedWithPrediction = 0;
    for (let seed = 1; seed <= 20; seed++) {
      let t: Twin = createSimulatedTwin(T0_MS, seed);
      for (let i = 0; i < 48 * 12; i++) {
        const was = t.state;
        t = advance(t, 300, 0);
        if (t.state === "driving" && was !== "driving") drove++;
        if (t.state !== "driving") {
          expect(t.predictedDepartureMs).not.toBeNull();
          parkedWithPrediction++;
        } else {
          expect(t.predictedDepartureMs).toBeNull();
          expect(workBlocker(t)).toBe("driving");
        }
      }
    }
    // Twenty cars over two days: every pattern leaves home at least once a day.
    expect(drove).toBeGreaterThanOrEqual(20);
    expect(parkedWithPrediction).toBeGreaterThan(0);
  });
});

describe("workBlocker", () => {
  const base = createTwin({ nowMs: T0_MS + 12 * HOUR_S * 1000, socPct: 60 });

  it("lets a parked car with charge above its reserve work", () => {
    expect(workBlocker(base)).toBeNull();
  });

  it("names what stops a car from working", () => {
    expect(workBlocker(startDriving(base))).toBe("driving");
    expect(workBlocker({ ...base, limits: { ...base.limits, optedIn: false } })).toBe("opted-out");
    expect(
      workBlocker({
        ...base,
        limits: { ...base.limits, allowedHours: { startHour: 22, endHour: 6 } },
      }),
    ).toBe("outside-allowed-hours");
    expect(workBlocker({ ...base, socPct: 20 })).toBe("reserve");
    expect(workBlocker({ ...base, batteryTempC: 41 })).toBe("battery-hot");
    expect(workBlocker(park(base, 0, base.nowMs + 30_000))).toBe("departs-soon");
  });

  it("lets a car at its reserve work while the charger covers the draw", () => {
    expect(workBlocker(park({ ...base, socPct: 20 }, 7.4))).toBeNull();
  });
});

describe("heartbeatOf", () => {
  it("maps a compressed-time departure onto the wall clock", () => {
    const twin = park(createTwin({ nowMs: T0_MS }), 7.4, T0_MS + 3600_000);
    const wall = Date.UTC(2030, 0, 1);
    const hb = heartbeatOf(twin, wall, 60);
    expect(hb.predictedDepartureAt).toBe(new Date(wall + 60_000).toISOString());
    expect(hb).toMatchObject({ state: "charging", pluggedIn: true, chargerKW: 7.4 });
    expect(heartbeatOf(startDriving(twin), wall).predictedDepartureAt).toBeNull();
  });
});

describe("a simulated car's local time", () => {
  // Each daylight saving change of the default scenario's zones in 2025: the first second on the
  // new offset, 21:00 local the evening before, and the fixed zone on the offset before it.
  const changes = [
    ["America/Los_Angeles", "2025-03-09T10:00:00Z", "2025-03-09T05:00:00Z", "Etc/GMT+8", -1],
    ["America/Los_Angeles", "2025-11-02T09:00:00Z", "2025-11-02T04:00:00Z", "Etc/GMT+7", 1],
    ["America/Chicago", "2025-03-09T08:00:00Z", "2025-03-09T03:00:00Z", "Etc/GMT+6", -1],
    ["America/Chicago", "2025-11-02T07:00:00Z", "2025-11-02T02:00:00Z", "Etc/GMT+5", 1],
    ["Europe/Stockholm", "2025-03-30T01:00:00Z", "2025-03-29T20:00:00Z", "Etc/GMT-1", -1],
    ["Europe/Stockholm", "2025-10-26T01:00:00Z", "2025-10-25T19:00:00Z", "Etc/GMT-2", 1],
  ] as const;

  it.each(changes)(
    "%s, change at %s: a car leaves home by the clock, an hour apart in UTC from one on the old offset",
    (zone, changeIso, eveningIso, fixedZone, shiftH) => {
      const eveningMs = Date.parse(eveningIso);
      // Cars at home at 21:00 leave the next morning (a night-shift worker leaves at 21:30).
      let cars = 0;
      for (let seed = 1; cars < 5 && seed < 200; seed++) {
        const onZone = createSimulatedTwin(eveningMs, seed, { timeZone: zone });
        if (onZone.pattern?.kind === "nightShift" || onZone.pattern?.place !== "home") continue;
        cars++;
        const onFixed = createSimulatedTwin(eveningMs, seed, { timeZone: fixedZone });
        expect(onZone.pattern.timeZone).toBe(zone);
        // The same draws: the next morning's departure, after the change, on each car's clock.
        expect(onZone.predictedDepartureMs!).toBeGreaterThan(Date.parse(changeIso));
        expect(onZone.predictedDepartureMs! - onFixed.predictedDepartureMs!).toBeCloseTo(
          shiftH * HOUR_S * 1000,
          3,
        );
        expect(onZone.departAtMs! - onFixed.departAtMs!).toBeCloseTo(shiftH * HOUR_S * 1000, 3);
      }
      expect(cars).toBe(5);
    },
  );

  it("checks the owner's hours on its region's clocks, summer and winter", () => {
    const nightOwl = (iso: string, timeZone: string) => {
      const t = createSimulatedTwin(Date.parse(iso), 1, {
        timeZone,
        socPct: 90,
        limits: { ...DEFAULT_LIMITS, allowedHours: { startHour: 22, endHour: 6 } },
      });
      return workBlocker({ ...t, state: "parked", predictedDepartureMs: null });
    };
    // 03:30 UTC is 22:30 on CDT in July, 21:30 on CST in January.
    expect(nightOwl("2025-07-01T03:30:00Z", "America/Chicago")).toBeNull();
    expect(nightOwl("2025-01-15T03:30:00Z", "America/Chicago")).toBe("outside-allowed-hours");
    // In UTC both are 03:30, inside.
    expect(nightOwl("2025-01-15T03:30:00Z", "UTC")).toBeNull();
  });
});
