// The replay harness works end to end at a tiny size: the simulator's jobs reach the server,
// the fleet does them, and every figure is read on both sides. Agreement is the benchmark's
// question (npm run replay), not this test's, except where nothing scheduling-dependent stands
// between the two sides: car i lives the simulator's car i's day, so the server sees the same
// share of the fleet parked.
import { expect, it } from "vitest";
import { replay, REPLAY_SMALL } from "../src/replay";

it("replays a scenario's hours through a real server and reads every figure on both sides", async () => {
  const r = await replay({ ...REPLAY_SMALL, cars: 20, hours: 2, speedup: 720 });
  const byName = new Map(r.figures.map((f) => [f.name, f]));
  for (const name of ["parked share", "eligible share", "utilization", "energy", "cost per kWh"]) {
    expect(byName.get(name)?.simulator, name).not.toBeNull();
    expect(byName.get(name)?.server, name).not.toBeNull();
  }
  expect(r.counts.server.jobs).toBeGreaterThan(0);
  expect(r.counts.server.results).toBeGreaterThan(0);
  expect(r.counts.server.samples).toBe(2 * 4);
  expect(Math.abs(byName.get("parked share")!.relative!)).toBeLessThan(0.05);
});
