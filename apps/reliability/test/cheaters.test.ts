// Perturbing and colluding cars under adaptive replication: no wrong answer accepted (a perturbed
// one agrees with nothing; two colluders that nobody trusts need a third car to agree, and the
// CI fleet has two), every task decided, every cheater quarantined (more work a batch at a
// time while one is still free: how much work a cheater draws depends on the timing), no honest
// car quarantined. Sleepers' lies are a figure: one told on the run's last task may go
// unchecked before the run ends.
import { expect, it } from "vitest";
import { cheaters, CHEATERS_CI } from "../src/cheaters";
import { runAndReport } from "./figures";

it("cheating cars get no wrong answer accepted and are quarantined", async () => {
  const f = await runAndReport("cheaters", () => cheaters(CHEATERS_CI));
  expect(f.finished).toBe(1);
  // Every task decided: validated, or failed because three rounds found no quorum (a few at
  // most: a round fails only with two bad results among its four).
  expect(f.tasksValid! + f.tasksNoQuorum!).toBe(f.tasks);
  expect(f.tasksNoQuorum).toBeLessThanOrEqual(f.tasks! / 100);
  expect(f.tasks).toBeGreaterThanOrEqual(CHEATERS_CI.tasks);
  expect(f.wrongAcceptedFromPerturbers).toBe(0);
  expect(f.wrongAccepted).toBe(0);
  expect(f.doubleCounted).toBe(0);
  expect(f.cheatersQuarantined).toBe(f.perturbers! + f.colluders!);
  expect(f.honestQuarantined).toBe(0);
});
