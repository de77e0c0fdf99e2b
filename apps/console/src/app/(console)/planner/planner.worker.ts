// Runs core's fleet simulator off the page's thread: one request, progress as it goes, then the
// result (or the error, e.g. a scenario field the simulator refuses). The regions' offsets for the
// run are worked out here from their zones and the start date, as the CLI does.
import { parseScenario } from "@nightshift/core/sim/scenario";
import { simulate } from "@nightshift/core/sim/simulate";
import { parseStartDate, simulationOffsets } from "@nightshift/time-zones/sim-offsets";
import { type PlanMessage, type PlanRequest, scenarioOverrides } from "./plan";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<PlanRequest>) => void) | null;
  postMessage(message: PlanMessage): void;
};

scope.onmessage = (e) => {
  const { params } = e.data;
  const started = performance.now();
  let reported = -1;
  try {
    const scenario = parseScenario(scenarioOverrides(params));
    const result = simulate({
      vehicles: params.vehicles,
      hours: params.hours,
      seed: params.seed,
      scenario,
      offsets: simulationOffsets(scenario.regions, parseStartDate(params.startDate), params.hours),
      onProgress: (share) => {
        // At most a hundred messages a run.
        if (share - reported >= 0.01 || share === 1) {
          reported = share;
          scope.postMessage({ type: "progress", share });
        }
      },
    });
    scope.postMessage({ type: "done", result, elapsedMs: performance.now() - started });
  } catch (error) {
    scope.postMessage({
      type: "error",
      message: error instanceof Error ? error.message : String(error),
    });
  }
};
