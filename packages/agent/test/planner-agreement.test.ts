// The planner predicts the fleet: a headless car seeded like the simulator's car i of the same
// scenario lives the same day. With no work drawn, the simulator's fleet and a fleet of twins
// advanced to each of its sample times are parked, and plugged in, the same cars at once.
import { carSeed, drawCar, lifeRng } from "@nightshift/core/sim/car-life";
import { DEFAULT_SCENARIO, parseScenario } from "@nightshift/core/sim/scenario";
import { simulate } from "@nightshift/core/sim/simulate";
import { parseStartDate, simulationOffsets } from "@nightshift/time-zones/sim-offsets";
import { describe, expect, it } from "vitest";
import { advance, createSimulatedTwin, type Twin } from "../src/twin";

const CARS = 300;
const SEED = 11;
const HOURS = 48;

describe("a fleet of simulated cars and the simulator", () => {
  it.each(["2025-01-15", "2025-03-08", "2025-07-02"])(
    "park and plug in the same cars at every sample of two days from %s",
    (date) => {
      // No work: the cars' days alone (work only moves the charge, and with it a plug-in choice).
      const scenario = parseScenario({ workload: { intensity: 0 } });
      const startS = parseStartDate(date);
      const offsets = simulationOffsets(scenario.regions, startS, HOURS);
      const { series } = simulate({ vehicles: CARS, hours: HOURS, seed: SEED, scenario, offsets });

      let twins: Twin[] = Array.from({ length: CARS }, (_, i) => {
        const seed = carSeed(SEED, i);
        const region = scenario.regions[drawCar(scenario, lifeRng(seed, 0)).regionIndex]!;
        return createSimulatedTwin(startS * 1000, seed, { scenario, timeZone: region.timeZone });
      });
      const mismatches: string[] = [];
      for (const sample of series) {
        twins = twins.map((t) => advance(t, startS + sample.t - t.nowMs / 1000, 0));
        const parked = twins.filter((t) => t.state !== "driving").length;
        const plugged = twins.filter((t) => t.state !== "driving" && t.pluggedIn).length;
        if (parked !== sample.parked || plugged !== sample.plugged) {
          mismatches.push(
            `t=${sample.t}: parked ${parked} (simulator ${sample.parked}), plugged ${plugged} (${sample.plugged})`,
          );
        }
      }
      expect(series).toHaveLength((HOURS * 3600) / DEFAULT_SCENARIO.sampleS);
      expect(mismatches).toEqual([]);
    },
  );
});
