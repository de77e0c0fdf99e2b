// The clock the server schedules on, for cars to run their days at: real time, or a compressed
// world (a demo's 60×) whose time is worldAt now.
import { z } from "zod";
import { worldS } from "@nightshift/core/time-scale";
import type { ApiDeps } from "../context";
import { toS } from "./convert";

export const ZClockOutput = z.object({
  /** World seconds per wall second (1: real time). */
  speedup: z.number(),
  /** The wall clock's time and the scheduling clock's, now (ISO 8601). */
  wallAt: z.string(),
  worldAt: z.string(),
});
export type ClockOutput = z.infer<typeof ZClockOutput>;

export function clock(deps: ApiDeps): ClockOutput {
  const now = deps.now();
  const scale = deps.config.timeScale;
  const worldMs = worldS(scale, toS(now)) * 1000;
  return {
    speedup: scale.speedup,
    wallAt: now.toISOString(),
    worldAt: new Date(Math.round(worldMs)).toISOString(),
  };
}
