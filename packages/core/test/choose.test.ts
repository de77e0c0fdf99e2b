// choose: the one function that picks a car's work, in the simulator's decide and the server's
// lease call; and deferral, the work filter that lets cheapest or cleanest work wait.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CANDIDATES_PER_DECISION, choose } from "../src/schedule/choose";
import { DEFAULT_SCHEDULE_CONFIG } from "../src/schedule/config";
import {
  deferral,
  departureLimitedRunS,
  inferenceS,
  maxRunS,
  workRejection,
} from "../src/schedule/filters";
import { NOTHING_HELD, withLeases } from "../src/schedule/holding";
import { meanOver } from "../src/tariff";
import type { WorkItem } from "../src/types";
import { arbNowS, arbRegionSet, arbSchedVehicle, arbWorkItem } from "./arbitraries";
import { car, ctxAt, HOUR_S, REGION, work } from "./fixtures";

const plugged = (over = {}) => car({ pluggedIn: true, state: "charging", chargerKW: 11, ...over });
const share = DEFAULT_SCHEDULE_CONFIG.deferral.minSavingShare;

describe("deferral", () => {
  const at17 = ctxAt(17 * HOUR_S); // 0.50 USD/kWh and 600 g/kWh until 21:00; 0.10 and 100 from 00:00
  const nextMorning = 30 * HOUR_S;

  it("a plugged-in car at the evening peak waits for the night's cheap power", () => {
    const w = deferral(plugged(), work({ objective: "cheapest", deadlineS: nextMorning }), at17);
    expect(w?.startS).toBe(24 * HOUR_S);
    expect(w?.meanPriceUsdPerKWh).toBe(0.1);
    expect(
      workRejection(plugged(), work({ objective: "cheapest", deadlineS: nextMorning }), at17),
    ).toBe("deferred");
  });

  it("cleanest work waits for the cleaner hours, soonest work never waits", () => {
    expect(
      deferral(plugged(), work({ objective: "cleanest", deadlineS: nextMorning }), at17)?.startS,
    ).toBe(24 * HOUR_S);
    expect(
      deferral(plugged(), work({ objective: "soonest", deadlineS: nextMorning }), at17),
    ).toBeNull();
    expect(deferral(plugged(), work({ deadlineS: nextMorning }), at17)).toBeNull();
  });

  it("runs now when the deadline, the departure or the battery leaves no better window", () => {
    // The deadline falls inside the peak.
    expect(
      deferral(plugged(), work({ objective: "cheapest", deadlineS: 20 * HOUR_S }), at17),
    ).toBeNull();
    // One hour past the peak is enough to wait for 21:00.
    expect(
      deferral(plugged(), work({ objective: "cheapest", deadlineS: 22 * HOUR_S }), at17)?.startS,
    ).toBe(21 * HOUR_S);
    // The car leaves at 18:00.
    const leaving = plugged({ predictedDepartureS: 18 * HOUR_S, departureUncertaintyS: 300 });
    expect(
      deferral(leaving, work({ objective: "cheapest", deadlineS: nextMorning }), at17),
    ).toBeNull();
    // On its battery, a car pays the recharge window's price whenever it runs.
    expect(
      deferral(car(), work({ objective: "cheapest", deadlineS: nextMorning }), at17),
    ).toBeNull();
    // At night the power is already the cheapest.
    expect(
      deferral(
        plugged(),
        work({ objective: "cheapest", deadlineS: nextMorning }),
        ctxAt(25 * HOUR_S),
      ),
    ).toBeNull();
  });

  it("waits only for a window that is clearly better and that the run fits before every limit", () => {
    fc.assert(
      fc.property(arbRegionSet, arbSchedVehicle, arbWorkItem(), arbNowS, (regions, v, w, nowS) => {
        const ctx = ctxAt(nowS, regions);
        if (!ctx.regions.has(v.regionId)) return;
        const window = deferral(v, w, ctx);
        if (window === null) return;
        expect(w.objective === "cheapest" || w.objective === "cleanest").toBe(true);
        expect(v.pluggedIn).toBe(true);
        expect(window.startS).toBeGreaterThan(nowS);
        expect(window.endS).toBeLessThanOrEqual(w.deadlineS + 1e-6);
        expect(window.endS).toBeLessThanOrEqual(nowS + departureLimitedRunS(v, ctx) + 1e-6);
        expect(window.endS - nowS).toBeLessThanOrEqual(
          DEFAULT_SCHEDULE_CONFIG.deferral.horizonS + 1e-6,
        );
        const by = w.objective === "cheapest" ? "price" : "carbon";
        const region = ctx.regions.get(v.regionId)!;
        const runS = window.endS - window.startS;
        const then = by === "price" ? window.meanPriceUsdPerKWh : window.meanCarbonGPerKWh;
        expect(then).toBeLessThanOrEqual(
          meanOver(region, nowS, nowS + runS, by) * (1 - share) + 1e-9,
        );
      }),
    );
  });
});

describe("choose", () => {
  const ctx = ctxAt(12 * HOUR_S);
  const items = (n: number, over: Partial<WorkItem> = {}) =>
    Array.from({ length: n }, (_, i) =>
      work({ id: `w${i}`, divisible: false, inferences: 1, ...over }),
    );

  it("picks up to the count asked, best score first, queue order among equals", () => {
    const local = work({ id: "local", divisible: false, inferences: 1, dataRegionId: REGION.id });
    const queue = [...items(2, { dataRegionId: "elsewhere" }), local];
    const { picks } = choose(car(), queue, ctx, { count: 2 });
    expect(picks.map((p) => p.item.id)).toEqual(["local", "w0"]);
    expect(picks[0]!.score).toBeGreaterThan(picks[1]!.score);
  });

  it("fills the run budget and no more, and stops at the car's hold", () => {
    const perS = inferenceS(car(), items(1)[0]!, ctx);
    const byBudget = choose(car(), items(10), ctx, { count: 10, runS: 3.5 * perS });
    expect(byBudget.picks).toHaveLength(3);
    const limits = { leaseTtlS: 300, maxLeases: 4, maxLifetimes: 3 };
    const byHold = choose(car(), items(10), ctx, {
      count: 10,
      holding: { held: withLeases(NOTHING_HELD, perS, 2), limits },
    });
    expect(byHold.picks).toHaveLength(2);
  });

  it("says why when nothing passes: the last filter's reason, or no-work", () => {
    const big = { id: "big", memoryGB: 1000, teraOpsPerInference: 1 };
    expect(choose(car(), items(3, { model: big }), ctx)).toEqual({
      picks: [],
      reason: "hardware-too-small",
    });
    expect(choose(car(), [], ctx)).toEqual({ picks: [], reason: "no-work" });
    const at17 = ctxAt(17 * HOUR_S);
    expect(
      choose(plugged(), items(2, { objective: "cheapest", deadlineS: 30 * HOUR_S }), at17).reason,
    ).toBe("deferred");
  });

  it("every pick passes the work filters, and the picks fit the car's longest run together", () => {
    fc.assert(
      fc.property(
        arbRegionSet,
        arbSchedVehicle,
        fc.array(arbWorkItem(), { maxLength: 12 }),
        fc.integer({ min: 1, max: 8 }),
        arbNowS,
        (regions, v, queue, count, nowS) => {
          const ctx = ctxAt(nowS, regions);
          if (!ctx.regions.has(v.regionId)) return;
          const unique = queue.map((w, i) => ({ ...w, id: `w${i}` }));
          const { picks } = choose(v, unique, ctx, { count });
          expect(picks.length).toBeLessThanOrEqual(count);
          const seen = new Set<string>();
          let runS = 0;
          for (const p of picks) {
            expect(workRejection(v, p.item, ctx)).toBeNull();
            expect(seen.has(p.item.id)).toBe(false);
            seen.add(p.item.id);
            expect(p.inferences).toBeGreaterThan(0);
            runS += p.inferences * inferenceS(v, p.item, ctx);
          }
          expect(runS).toBeLessThanOrEqual(maxRunS(v, ctx) * (1 + 1e-9) + 1e-9);
          for (let i = 1; i < picks.length; i++) {
            expect(picks[i]!.score).toBeLessThanOrEqual(picks[i - 1]!.score);
          }
        },
      ),
    );
  });

  it("looks at no more than maxScan items, and compares at least a few", () => {
    let pulled = 0;
    function* counted(): Generator<WorkItem> {
      for (const w of items(1000)) {
        pulled++;
        yield w;
      }
    }
    choose(car(), counted(), ctx);
    expect(pulled).toBe(CANDIDATES_PER_DECISION);
    const big = { id: "big", memoryGB: 1000, teraOpsPerInference: 1 };
    pulled = 0;
    function* rejected(): Generator<WorkItem> {
      for (const w of items(1000, { model: big })) {
        pulled++;
        yield w;
      }
    }
    choose(car(), rejected(), ctx);
    expect(pulled).toBe(DEFAULT_SCHEDULE_CONFIG.maxScan + 1);
    // A call for many reads as many: the server asks for up to 128 tasks at once.
    const many = choose(car(), items(1000), ctx, { count: 100, runS: Infinity });
    expect(many.picks).toHaveLength(100);
  });
});
