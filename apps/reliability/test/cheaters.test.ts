// Perturbing and colluding cars under adaptive replication: no wrong answer accepted, every
// cheater quarantined, no honest car quarantined.
import { expect, it } from "vitest";
import { cheaters, CHEATERS_CI } from "../src/cheaters";
import { runAndReport } from "./figures";

it("cheating cars get no wrong answer accepted and are quarantined", async () => {
  const f = await runAndReport("cheaters", () => cheaters(CHEATERS_CI));
  expect(f.finished).toBe(1);
  expect(f.tasksValid).toBe(CHEATERS_CI.tasks);
  expect(f.wrongAccepted).toBe(0);
  expect(f.doubleCounted).toBe(0);
  expect(f.cheatersQuarantined).toBe(f.perturbers! + f.colluders!);
  expect(f.honestQuarantined).toBe(0);
}, 240_000);
