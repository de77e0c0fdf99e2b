// What a replay needs besides the server: the scenario with coarser tasks, the models the
// server and the cars know by the scenario's ids, and a runtime that makes a car's run last
// what the simulator charges for it.
//
// The fleet runs a real ONNX model (tiny-mlp) for every task, in well under a millisecond of
// this machine's time. The simulator charges a task teraOpsPerInference ÷ the car's sustained
// TOPS of its hardware class. So each scenario model is served as tiny-mlp's file under the
// scenario's id and cost, and each car's runs are held until that long has passed on the
// compressed clock: the server then sees the run's span, and pays it (core's pay.ts: the
// shortest of the car's claim, the lease's span and its own estimate) as the simulator does.
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { InferenceRuntime, RunResult } from "@nightshift/agent/runtime";
import { estimatedRunS } from "@nightshift/core/hardware";
import type { HardwareProfile } from "@nightshift/core/types";
import type { Scenario } from "@nightshift/core/sim/scenario";
import { modelFilePath } from "@nightshift/models/files";
import type { ModelManifest } from "@nightshift/models/manifest";
import { getManifest } from "@nightshift/models/registry";

/**
 * The scenario with each model's task `taskScale` times as large: the same compute demanded
 * (job sizes are car-hours), in `taskScale` times fewer tasks, so that a day of hundreds of cars
 * is a few thousand server tasks instead of hundreds of thousands.
 */
export function coarserTasks(scenario: Scenario, taskScale: number): Scenario {
  return {
    ...scenario,
    models: scenario.models.map((m) => ({
      ...m,
      teraOpsPerInference: m.teraOpsPerInference * taskScale,
    })),
  };
}

const TINY = getManifest("tiny-mlp") as ModelManifest;

/**
 * A scenario model as the cars know it: tiny-mlp's file and shapes under the scenario's id,
 * memory and cost, one task per run (the simulator runs a run's inferences one after another,
 * and a departure keeps those done).
 */
export function replayManifest(model: Scenario["models"][number]): ModelManifest {
  return {
    ...TINY,
    id: model.id,
    title: `${model.id} (tiny-mlp standing in for the scenario's model)`,
    maxBatch: 1,
    memoryGB: model.memoryGB,
    teraOpsPerInference: model.teraOpsPerInference,
  };
}

/** Writes `<id>.onnx` for each scenario model into `dir` (the server's NIGHTSHIFT_MODELS_DIR). */
export async function writeModelFiles(scenario: Scenario, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const m of scenario.models) await copyFile(modelFilePath(TINY), join(dir, `${m.id}.onnx`));
}

/**
 * One car's runtime: the fleet's real run, then a wait until the run has lasted what the car's
 * hardware class takes for its tasks (estimatedRunS, the server's and the simulator's figure)
 * on the compressed clock; that span is the duration the car reports.
 */
export class PacedRuntime implements InferenceRuntime {
  constructor(
    private readonly inner: InferenceRuntime,
    private readonly hardware: Pick<HardwareProfile, "peakTops">,
    private readonly sustainedTopsShare: number,
    private readonly speedup: number,
  ) {}

  info() {
    return this.inner.info();
  }

  async run(
    model: ModelManifest,
    bytes: Uint8Array,
    feeds: Parameters<InferenceRuntime["run"]>[2],
  ): Promise<RunResult> {
    const startMs = performance.now();
    const out = await this.inner.run(model, bytes, feeds);
    const tasks = Object.values(feeds)[0]?.dims[0] ?? 1;
    const worldS =
      tasks * estimatedRunS(this.hardware, model.teraOpsPerInference, this.sustainedTopsShare);
    const wallMs = (worldS * 1000) / this.speedup;
    const leftMs = startMs + wallMs - performance.now();
    if (leftMs > 0) await sleep(leftMs);
    return { ...out, durationMs: wallMs };
  }

  dispose() {
    // The shared runtime is the fleet's to dispose.
    return Promise.resolve();
  }
}
