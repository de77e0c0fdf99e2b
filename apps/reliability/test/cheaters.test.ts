// Perturbing and colluding cars under adaptive replication: no perturbed answer accepted (it can
// agree with nothing), every cheater quarantined, no honest car quarantined. Two colluders that
// meet on one task do win it, rarely (about 1 task in 10,000 at full size): that is a figure,
// bounded loosely here.
import { expect, it } from "vitest";
import { cheaters, CHEATERS_CI } from "../src/cheaters";
import { runAndReport } from "./figures";

it("cheating cars get no wrong answer accepted and are quarantined", async () => {
  const f = await runAndReport("cheaters", () => cheaters(CHEATERS_CI));
  expect(f.finished).toBe(1);
  expect(f.tasksValid).toBe(CHEATERS_CI.tasks);
  expect(f.wrongAcceptedFromPerturbers).toBe(0);
  expect(f.wrongAcceptedRate).toBeLessThan(0.01);
  expect(f.doubleCounted).toBe(0);
  expect(f.cheatersQuarantined).toBe(f.perturbers! + f.colluders!);
  expect(f.honestQuarantined).toBe(0);
}, 240_000);
