// Parked cars heartbeating against one and two instances, step by step. Latency is a figure,
// not a check (it depends on the machine); what must hold is that no heartbeat fails.
import { expect, it } from "vitest";
import { load, LOAD_CI } from "../src/load";
import { runAndReport } from "./figures";

it("holds a growing fleet of heartbeating cars, and reports where p99 passes 100 ms", async () => {
  const f = await runAndReport("load", () => load(LOAD_CI));
  expect(f["oneInstance.heartbeatErrors"]).toBe(0);
  expect(f["twoInstances.heartbeatErrors"]).toBe(0);
  expect(f["oneInstance.p99At25"]).toBeGreaterThan(0);
});
